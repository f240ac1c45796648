output "cluster_name" {
  description = "Name of the EKS cluster."
  value       = module.eks.cluster_name
}

output "cluster_endpoint" {
  description = "Endpoint of the Kubernetes API server."
  value       = module.eks.cluster_endpoint
}

output "cluster_certificate_authority_data" {
  description = "Base64 CA certificate of the Kubernetes API server."
  value       = module.eks.cluster_certificate_authority_data
}

output "oidc_provider_arn" {
  description = "ARN of the cluster's IAM OIDC provider, for IAM roles for service accounts."
  value       = module.eks.oidc_provider_arn
}

output "node_security_group_id" {
  description = "Security group of every node (system group and Karpenter's): the data services admit it."
  value       = module.eks.node_security_group_id
}

output "karpenter_node_role_name" {
  description = "IAM role Karpenter's nodes run as: the EC2NodeClass of the chart names it."
  value       = module.karpenter.node_iam_role_name
}

output "karpenter_interruption_queue" {
  description = "SQS queue of spot interruption and rebalance events Karpenter drains nodes by."
  value       = module.karpenter.queue_name
}
