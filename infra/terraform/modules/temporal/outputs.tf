output "frontend_address" {
  description = "host:port the workers, the api and KEDA's temporal scaler dial (inside the cluster)."
  value       = "${helm_release.temporal.name}-frontend.${var.kubernetes_namespace}.svc.cluster.local:7233"
}

output "store_address" {
  description = "Host name of Temporal's RDS PostgreSQL."
  value       = module.store.address
}

output "store_security_group_id" {
  description = "Security group of Temporal's RDS PostgreSQL."
  value       = module.store.security_group_id
}
