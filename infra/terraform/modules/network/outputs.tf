output "vpc_id" {
  description = "ID of the VPC."
  value       = module.vpc.vpc_id
}

output "vpc_cidr_block" {
  description = "IPv4 CIDR block of the VPC."
  value       = module.vpc.vpc_cidr_block
}

output "private_subnet_ids" {
  description = "Private subnets, one per zone: EKS nodes and pods."
  value       = module.vpc.private_subnets
}

output "public_subnet_ids" {
  description = "Public subnets, one per zone: the ALB and the NAT gateways."
  value       = module.vpc.public_subnets
}

output "database_subnet_ids" {
  description = "Database subnets, one per zone: RDS, ElastiCache, MSK and OpenSearch."
  value       = module.vpc.database_subnets
}

output "database_subnet_group_name" {
  description = "RDS subnet group over the database subnets."
  value       = module.vpc.database_subnet_group_name
}

output "intra_subnet_ids" {
  description = "Subnets without a route out, for the EKS control plane's network interfaces."
  value       = module.vpc.intra_subnets
}
