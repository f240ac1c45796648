variable "name" {
  description = "Prefix of the Temporal store's resources, e.g. lendflow-production."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,38}$", var.name))
    error_message = "name must be 3-39 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "kubernetes_namespace" {
  description = "Namespace the Temporal services run in."
  type        = string
  default     = "temporal"
}

variable "chart_version" {
  description = "Version of Temporal's Helm chart (https://go.temporal.io/helm-charts)."
  type        = string
  default     = "0.65.0"
}

variable "history_shards" {
  description = "numHistoryShards: fixed for the life of the cluster, so sized for the lender's growth up front."
  type        = number
  default     = 512

  validation {
    condition     = var.history_shards >= 4 && floor(log(var.history_shards, 2)) == log(var.history_shards, 2)
    error_message = "history_shards must be a power of two of at least 4."
  }
}

variable "server_replicas" {
  description = "Replicas of each Temporal service (frontend, history, matching, worker)."
  type        = number
  default     = 3

  validation {
    condition     = var.server_replicas >= 2
    error_message = "server_replicas must be at least 2 so a node loss leaves a replica."
  }
}

variable "store_instance_class" {
  description = "RDS instance class of Temporal's own PostgreSQL (history and visibility)."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the store."
  type        = string
}

variable "db_subnet_group_name" {
  description = "RDS subnet group of the store (three zones)."
  type        = string
}

variable "allowed_security_group_ids" {
  description = "Security groups that reach the store (the EKS nodes, where Temporal's services run)."
  type        = list(string)
}

variable "tags" {
  description = "Tags put on every resource (environment, service, owner, cost centre)."
  type        = map(string)
  default     = {}
}
