# What the chart's values file (infra/helm/lendflow/values-<env>.yaml) and its secrets need.
output "cluster_name" {
  description = "EKS cluster: aws eks update-kubeconfig --name <this>."
  value       = module.eks.cluster_name
}

output "karpenter_node_role_name" {
  description = "IAM role the chart's EC2NodeClass names (karpenter.nodeClass.role)."
  value       = module.eks.karpenter_node_role_name
}

output "app_role_arn" {
  description = "IAM role of the application's service account (eks.amazonaws.com/role-arn)."
  value       = module.app_irsa.iam_role_arn
}

output "postgres_address" {
  description = "Host of the application's PostgreSQL."
  value       = module.postgres.address
}

output "postgres_master_secret_arn" {
  description = "Secrets Manager secret of the PostgreSQL master password (rotated by RDS)."
  value       = module.postgres.master_user_secret_arn
}

output "kafka_bootstrap_brokers" {
  description = "MSK bootstrap brokers (TLS, IAM auth)."
  value       = module.kafka.bootstrap_brokers
}

output "redis_primary_endpoint" {
  description = "ElastiCache primary endpoint (TLS)."
  value       = module.redis.primary_endpoint
}

output "redis_auth_token_secret_arn" {
  description = "Secrets Manager secret of the Redis AUTH token."
  value       = module.redis.auth_token_secret_arn
}

output "temporal_address" {
  description = "Temporal frontend inside the cluster."
  value       = module.temporal.frontend_address
}

output "certificate_arn" {
  description = "ACM certificate for the Ingress (alb.ingress.kubernetes.io/certificate-arn)."
  value       = module.edge.certificate_arn
}

output "alb_security_group_id" {
  description = "Security group for the Ingress (alb.ingress.kubernetes.io/security-groups)."
  value       = module.edge.alb_security_group_id
}

output "opensearch_endpoint" {
  description = "OpenSearch endpoint for Logstash's output."
  value       = module.logs.endpoint
}

output "logstash_role_arn" {
  description = "IAM role of Logstash's service account."
  value       = module.logs.logstash_role_arn
}
