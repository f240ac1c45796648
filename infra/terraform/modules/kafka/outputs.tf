output "bootstrap_brokers" {
  description = "Bootstrap brokers for TLS with IAM authentication (port 9098)."
  value       = aws_msk_cluster.this.bootstrap_brokers_sasl_iam
}

output "cluster_arn" {
  description = "ARN of the MSK cluster."
  value       = aws_msk_cluster.this.arn
}

output "client_policy_arn" {
  description = "IAM policy that lets the application's pods use the lending.* topics."
  value       = aws_iam_policy.client.arn
}

output "security_group_id" {
  description = "Security group of the brokers."
  value       = aws_security_group.this.id
}
