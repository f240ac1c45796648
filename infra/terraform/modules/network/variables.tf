variable "name" {
  description = "Name of the VPC and prefix of its subnets, e.g. lendflow-production."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,38}$", var.name))
    error_message = "name must be 3-39 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "cidr" {
  description = "IPv4 CIDR block of the VPC; /16 leaves room for three /20 private subnets per zone."
  type        = string

  validation {
    condition     = can(cidrhost(var.cidr, 0)) && tonumber(split("/", var.cidr)[1]) <= 16
    error_message = "cidr must be a valid IPv4 CIDR block of /16 or larger."
  }
}

variable "availability_zones" {
  description = "The three availability zones the subnets span (names such as the region's a, b and c zones)."
  type        = list(string)

  validation {
    condition     = length(var.availability_zones) == 3 && length(distinct(var.availability_zones)) == 3
    error_message = "availability_zones must name exactly three distinct zones."
  }
}

variable "cluster_name" {
  description = "Name of the EKS cluster: its private subnets are tagged for Karpenter's and the load balancer controller's discovery."
  type        = string
}

variable "single_nat_gateway" {
  description = "One NAT gateway for the whole VPC (cheaper, staging) instead of one per zone (production)."
  type        = bool
  default     = false
}

variable "flow_log_retention_days" {
  description = "Days the VPC flow logs stay in CloudWatch Logs."
  type        = number
  default     = 365

  validation {
    condition     = contains([365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.flow_log_retention_days)
    error_message = "flow_log_retention_days must be a CloudWatch retention of at least a year."
  }
}

variable "tags" {
  description = "Tags put on every resource (environment, service, owner, cost centre)."
  type        = map(string)
  default     = {}
}
