variable "name" {
  description = "Replication group id, e.g. lendflow-production."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,39}$", var.name))
    error_message = "name must be 3-40 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "engine_version" {
  description = "Redis OSS engine version."
  type        = string
  default     = "7.1"
}

variable "node_type" {
  description = "Cache node type, e.g. cache.r7g.large."
  type        = string

  validation {
    condition     = startswith(var.node_type, "cache.")
    error_message = "node_type must be an ElastiCache type such as cache.r7g.large."
  }
}

variable "replicas" {
  description = "Read replicas beside the primary, in other zones; automatic failover needs at least one."
  type        = number
  default     = 1

  validation {
    condition     = var.replicas >= 1 && var.replicas <= 5
    error_message = "replicas must be between 1 and 5."
  }
}

variable "vpc_id" {
  description = "VPC of the replication group."
  type        = string
}

variable "subnet_ids" {
  description = "Subnets in three zones (the network module's database subnets)."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "subnet_ids must span at least two zones for Multi-AZ."
  }
}

variable "allowed_security_group_ids" {
  description = "Security groups whose members may connect on 6379 (the EKS nodes)."
  type        = list(string)
}

variable "snapshot_retention_days" {
  description = "Days of daily snapshots kept."
  type        = number
  default     = 7

  validation {
    condition     = var.snapshot_retention_days >= 1
    error_message = "snapshot_retention_days must be at least 1."
  }
}

variable "log_retention_days" {
  description = "Days the slow log stays in CloudWatch Logs."
  type        = number
  default     = 365

  validation {
    condition     = var.log_retention_days >= 365
    error_message = "log_retention_days must keep the slow log for at least a year."
  }
}

variable "tags" {
  description = "Tags put on every resource (environment, service, owner, cost centre)."
  type        = map(string)
  default     = {}
}
