output "certificate_arn" {
  description = "ACM certificate of the public hostname: the chart's Ingress names it (alb.ingress.kubernetes.io/certificate-arn)."
  value       = aws_acm_certificate_validation.origin.certificate_arn
}

output "alb_security_group_id" {
  description = "Security group admitting only Cloudflare: the chart's Ingress names it (alb.ingress.kubernetes.io/security-groups)."
  value       = aws_security_group.alb.id
}

output "public_hostname" {
  description = "The proxied public hostname."
  value       = var.hostname
}
