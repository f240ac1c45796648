variable "name" {
  description = "Prefix of the AWS resources, e.g. lendflow-production."
  type        = string
}

variable "cloudflare_zone_id" {
  description = "ID of the Cloudflare zone that holds the public hostname."
  type        = string

  validation {
    condition     = can(regex("^[0-9a-f]{32}$", var.cloudflare_zone_id))
    error_message = "cloudflare_zone_id must be the zone's 32-hex-digit id."
  }
}

variable "hostname" {
  description = "Public hostname of the BFF behind the gateway, e.g. api.lendflow.com.br."
  type        = string

  validation {
    condition     = can(regex("^([a-z0-9-]+\\.)+[a-z]{2,}$", var.hostname))
    error_message = "hostname must be a fully qualified lowercase DNS name."
  }
}

variable "origin_hostname" {
  description = "DNS name of the ALB the AWS Load Balancer Controller made for the chart's Ingress; empty until the chart is installed (the record is created on the apply after)."
  type        = string
  default     = ""
}

variable "vpc_id" {
  description = "VPC of the ALB."
  type        = string
}

variable "vpc_cidr_block" {
  description = "CIDR block of the VPC: the ALB forwards only into it."
  type        = string
}

variable "static_path_prefixes" {
  description = "Path prefixes of static assets, the only responses Cloudflare caches."
  type        = list(string)
  default     = ["/static/", "/assets/", "/_expo/"]

  validation {
    condition     = alltrue([for prefix in var.static_path_prefixes : startswith(prefix, "/") && endswith(prefix, "/")])
    error_message = "static_path_prefixes must start and end with a slash."
  }
}

variable "requests_per_minute_per_ip" {
  description = "Coarse per-address limit at the edge; the gateway limits per client and per token."
  type        = number
  default     = 600

  validation {
    condition     = var.requests_per_minute_per_ip >= 60
    error_message = "requests_per_minute_per_ip must be at least 60."
  }
}

variable "tags" {
  description = "Tags put on every AWS resource (environment, service, owner, cost centre)."
  type        = map(string)
  default     = {}
}
