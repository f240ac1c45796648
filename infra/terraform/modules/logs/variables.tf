variable "domain_name" {
  description = "Name of the OpenSearch domain, e.g. lendflow-production-logs (at most 28 characters)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,27}$", var.domain_name))
    error_message = "domain_name must be 3-28 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "engine_version" {
  description = "OpenSearch engine version."
  type        = string
  default     = "OpenSearch_2.19"

  validation {
    condition     = startswith(var.engine_version, "OpenSearch_")
    error_message = "engine_version must be an OpenSearch version such as OpenSearch_2.19."
  }
}

variable "data_node_type" {
  description = "Instance type of the data nodes, e.g. r7g.large.search."
  type        = string
}

variable "data_nodes" {
  description = "Data nodes, spread evenly over three zones."
  type        = number
  default     = 3

  validation {
    condition     = var.data_nodes >= 3 && var.data_nodes % 3 == 0
    error_message = "data_nodes must be a multiple of three (one zone each)."
  }
}

variable "master_node_type" {
  description = "Instance type of the three dedicated master nodes, e.g. m7g.large.search."
  type        = string
}

variable "volume_size_gb" {
  description = "gp3 storage per data node in GiB."
  type        = number
  default     = 200

  validation {
    condition     = var.volume_size_gb >= 20
    error_message = "volume_size_gb must be at least 20."
  }
}

variable "vpc_id" {
  description = "VPC of the domain."
  type        = string
}

variable "subnet_ids" {
  description = "Three subnets in three zones (the network module's database subnets)."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) == 3
    error_message = "subnet_ids must name three subnets, one per zone."
  }
}

variable "allowed_security_group_ids" {
  description = "Security groups whose members may reach the domain on 443 (the EKS nodes: Logstash, Dashboards users through a port-forward)."
  type        = list(string)
}

variable "oidc_provider_arn" {
  description = "ARN of the EKS cluster's IAM OIDC provider, for Logstash's IAM role."
  type        = string
}

variable "logstash_service_account" {
  description = "namespace:name of the Kubernetes service account Logstash runs as."
  type        = string
  default     = "logging:logstash"

  validation {
    condition     = can(regex("^[a-z0-9-]+:[a-z0-9-]+$", var.logstash_service_account))
    error_message = "logstash_service_account must look like namespace:name."
  }
}

variable "admin_role_arn" {
  description = "IAM role mapped to the domain's security administrator (the platform team's SSO role)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", var.admin_role_arn))
    error_message = "admin_role_arn must be an IAM role ARN."
  }
}

variable "log_retention_days" {
  description = "Days the domain's own logs (slow logs, errors, audit) stay in CloudWatch Logs."
  type        = number
  default     = 365

  validation {
    condition     = var.log_retention_days >= 365
    error_message = "log_retention_days must keep the domain's logs for at least a year."
  }
}

variable "tags" {
  description = "Tags put on every resource (environment, service, owner, cost centre)."
  type        = map(string)
  default     = {}
}
