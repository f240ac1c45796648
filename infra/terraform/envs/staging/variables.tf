variable "region" {
  description = "AWS region of the environment, e.g. sa-east-1."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as sa-east-1."
  }
}

variable "account_id" {
  description = "AWS account of the environment; applying with credentials of another account fails."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}$", var.account_id))
    error_message = "account_id must be the 12-digit account number."
  }
}

variable "availability_zones" {
  description = "The three availability zones of the region the environment spans."
  type        = list(string)

  validation {
    condition     = length(var.availability_zones) == 3
    error_message = "availability_zones must name three zones."
  }
}

variable "vpc_cidr" {
  description = "IPv4 CIDR block of the environment's VPC."
  type        = string
}

variable "kubernetes_version" {
  description = "Kubernetes minor version of EKS."
  type        = string
}

variable "endpoint_public_access_cidrs" {
  description = "CIDR blocks allowed to reach the EKS API endpoint from outside the VPC (the platform team's VPN)."
  type        = list(string)
  default     = []
}

variable "system_node_group" {
  description = "Size of the managed node group for system pods."
  type = object({
    instance_types = list(string)
    min_size       = number
    max_size       = number
    desired_size   = number
  })
}

variable "postgres_instance_class" {
  description = "RDS instance class of the application's PostgreSQL."
  type        = string
}

variable "temporal_store_instance_class" {
  description = "RDS instance class of Temporal's PostgreSQL."
  type        = string
}

variable "temporal_history_shards" {
  description = "Temporal's numHistoryShards, fixed for the life of the cluster."
  type        = number
}

variable "kafka_broker_instance_type" {
  description = "MSK broker instance type."
  type        = string
}

variable "kafka_brokers_per_zone" {
  description = "MSK brokers in each of the three zones."
  type        = number
}

variable "redis_node_type" {
  description = "ElastiCache node type."
  type        = string
}

variable "opensearch_data_node_type" {
  description = "OpenSearch data node instance type."
  type        = string
}

variable "opensearch_master_node_type" {
  description = "OpenSearch dedicated master instance type."
  type        = string
}

variable "logs_admin_role_arn" {
  description = "IAM role of the platform team that administers the OpenSearch domain."
  type        = string
}

variable "cloudflare_zone_id" {
  description = "Cloudflare zone of the public hostname."
  type        = string
}

variable "public_hostname" {
  description = "Public hostname of the BFF, proxied by Cloudflare."
  type        = string
}

variable "alb_hostname" {
  description = "DNS name of the ALB made for the chart's Ingress; empty on the first apply (docs/deploying.md)."
  type        = string
  default     = ""
}

variable "owner" {
  description = "Team that owns the environment, for the Owner tag."
  type        = string
  default     = "platform"
}

variable "single_nat_gateway" {
  description = "One NAT gateway for the VPC (cheaper) instead of one per zone (survives a zone's loss)."
  type        = bool
}
