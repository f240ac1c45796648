output "endpoint" {
  description = "HTTPS endpoint of the domain (inside the VPC): Logstash's output hosts."
  value       = "https://${aws_opensearch_domain.this.endpoint}:443"
}

output "dashboards_endpoint" {
  description = "OpenSearch Dashboards (Kibana's counterpart) of the domain, where infra/kibana's saved objects are imported."
  value       = aws_opensearch_domain.this.dashboard_endpoint
}

output "logstash_role_arn" {
  description = "IAM role for Logstash's service account (eks.amazonaws.com/role-arn); map it to a writer role in the domain's security plugin."
  value       = aws_iam_role.logstash.arn
}

output "security_group_id" {
  description = "Security group of the domain."
  value       = aws_security_group.this.id
}
