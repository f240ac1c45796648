variable "cluster_name" {
  description = "Name of the MSK cluster, e.g. lendflow-production."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9-]{2,63}$", var.cluster_name))
    error_message = "cluster_name must be 3-64 letters, digits or hyphens, starting with a letter."
  }
}

variable "kafka_version" {
  description = "Apache Kafka version of the brokers (KRaft-mode versions start at 3.7.x.kraft)."
  type        = string
  default     = "3.8.x"
}

variable "broker_instance_type" {
  description = "Broker instance type, e.g. kafka.m7g.large."
  type        = string

  validation {
    condition     = startswith(var.broker_instance_type, "kafka.")
    error_message = "broker_instance_type must be an MSK type such as kafka.m7g.large."
  }
}

variable "brokers_per_zone" {
  description = "Brokers in each of the three zones (topics keep three replicas, two in sync)."
  type        = number
  default     = 1

  validation {
    condition     = var.brokers_per_zone >= 1
    error_message = "brokers_per_zone must be at least 1."
  }
}

variable "volume_size_gb" {
  description = "EBS storage per broker in GiB."
  type        = number
  default     = 500

  validation {
    condition     = var.volume_size_gb >= 100
    error_message = "volume_size_gb must be at least 100."
  }
}

variable "vpc_id" {
  description = "VPC of the cluster."
  type        = string
}

variable "subnet_ids" {
  description = "Three subnets in three zones for the brokers (the network module's database subnets)."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) == 3
    error_message = "subnet_ids must name three subnets, one per zone."
  }
}

variable "allowed_security_group_ids" {
  description = "Security groups whose members may connect over TLS with IAM authentication (the EKS nodes)."
  type        = list(string)
}

variable "log_retention_days" {
  description = "Days the broker logs stay in CloudWatch Logs."
  type        = number
  default     = 365

  validation {
    condition     = var.log_retention_days >= 365
    error_message = "log_retention_days must keep broker logs for at least a year."
  }
}

variable "tags" {
  description = "Tags put on every resource (environment, service, owner, cost centre)."
  type        = map(string)
  default     = {}
}
