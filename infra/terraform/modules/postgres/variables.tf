variable "identifier" {
  description = "Name of the RDS instance, e.g. lendflow-production (the application) or lendflow-production-temporal."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,62}$", var.identifier))
    error_message = "identifier must be 3-63 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "engine_version" {
  description = "PostgreSQL major version; minor versions upgrade automatically in the maintenance window."
  type        = string
  default     = "17"

  validation {
    condition     = contains(["16", "17"], var.engine_version)
    error_message = "engine_version must be 16 or 17."
  }
}

variable "instance_class" {
  description = "RDS instance class, e.g. db.r7g.large."
  type        = string

  validation {
    condition     = startswith(var.instance_class, "db.")
    error_message = "instance_class must be an RDS class such as db.r7g.large."
  }
}

variable "allocated_storage_gb" {
  description = "Initial gp3 storage in GiB; storage autoscaling grows it up to max_allocated_storage_gb."
  type        = number
  default     = 100

  validation {
    condition     = var.allocated_storage_gb >= 20
    error_message = "allocated_storage_gb must be at least 20."
  }
}

variable "max_allocated_storage_gb" {
  description = "Ceiling of storage autoscaling in GiB."
  type        = number
  default     = 1000
}

variable "database_name" {
  description = "Database created with the instance."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,62}$", var.database_name))
    error_message = "database_name must be a lowercase PostgreSQL identifier."
  }
}

variable "master_username" {
  description = "Master user of the instance."
  type        = string
  default     = "lendflow_admin"
}

variable "master_password" {
  description = "Master password when a consumer outside AWS needs it as is (Temporal's Helm chart); null lets RDS keep and rotate it in Secrets Manager."
  type        = string
  default     = null
  sensitive   = true
}

variable "vpc_id" {
  description = "VPC of the instance."
  type        = string
}

variable "db_subnet_group_name" {
  description = "RDS subnet group spanning three zones (the network module's database subnets)."
  type        = string
}

variable "allowed_security_group_ids" {
  description = "Security groups whose members may connect on 5432 (the EKS nodes)."
  type        = list(string)
}

variable "backup_retention_days" {
  description = "Days of automated backups (point-in-time recovery window)."
  type        = number
  default     = 14

  validation {
    condition     = var.backup_retention_days >= 7 && var.backup_retention_days <= 35
    error_message = "backup_retention_days must be between 7 and 35."
  }
}

variable "backup_window" {
  description = "Daily UTC window of the automated backup, e.g. 03:00-04:00."
  type        = string
  default     = "03:00-04:00"
}

variable "maintenance_window" {
  description = "Weekly UTC maintenance window, e.g. sun:05:00-sun:06:00 (must not overlap the backup window)."
  type        = string
  default     = "sun:05:00-sun:06:00"
}

variable "max_connections" {
  description = "max_connections of the parameter group (every api, worker and stage pod holds a pool)."
  type        = number
  default     = 500
}

variable "tags" {
  description = "Tags put on every resource (environment, service, owner, cost centre)."
  type        = map(string)
  default     = {}
}
