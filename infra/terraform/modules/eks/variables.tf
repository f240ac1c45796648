variable "cluster_name" {
  description = "Name of the EKS cluster, e.g. lendflow-production."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,38}$", var.cluster_name))
    error_message = "cluster_name must be 3-39 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "kubernetes_version" {
  description = "Kubernetes minor version of the control plane and the system node group, e.g. 1.33."
  type        = string

  validation {
    condition     = can(regex("^1\\.[0-9]{2}$", var.kubernetes_version))
    error_message = "kubernetes_version must look like 1.33."
  }
}

variable "vpc_id" {
  description = "VPC the cluster runs in."
  type        = string
}

variable "private_subnet_ids" {
  description = "Private subnets (three zones) for the nodes and pods."
  type        = list(string)

  validation {
    condition     = length(var.private_subnet_ids) >= 3
    error_message = "private_subnet_ids must cover three availability zones."
  }
}

variable "control_plane_subnet_ids" {
  description = "Subnets for the control plane's network interfaces (the VPC's intra subnets)."
  type        = list(string)
}

variable "endpoint_public_access_cidrs" {
  description = "CIDR blocks allowed to reach the public API endpoint (the platform team's VPN egress). Empty keeps the endpoint private."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for cidr in var.endpoint_public_access_cidrs : can(cidrhost(cidr, 0)) && cidr != "0.0.0.0/0"])
    error_message = "endpoint_public_access_cidrs must be valid CIDR blocks, never 0.0.0.0/0."
  }
}

variable "system_node_group" {
  description = "The small managed node group for system pods (CoreDNS, Karpenter, the load balancer controller, KEDA); Karpenter adds every other node."
  type = object({
    instance_types = list(string)
    min_size       = number
    max_size       = number
    desired_size   = number
  })
  default = {
    instance_types = ["m7i.large"]
    min_size       = 2
    max_size       = 3
    desired_size   = 2
  }

  validation {
    condition     = var.system_node_group.min_size >= 2 && var.system_node_group.min_size <= var.system_node_group.desired_size && var.system_node_group.desired_size <= var.system_node_group.max_size
    error_message = "system_node_group needs at least two nodes and min_size <= desired_size <= max_size."
  }
}

variable "chart_versions" {
  description = "Helm chart versions of the cluster add-ons installed here."
  type = object({
    karpenter                    = string
    aws_load_balancer_controller = string
    keda                         = string
  })
  default = {
    karpenter                    = "1.5.0"
    aws_load_balancer_controller = "1.13.3"
    keda                         = "2.17.2"
  }
}

variable "log_retention_days" {
  description = "Days the control plane's logs stay in CloudWatch Logs."
  type        = number
  default     = 365

  validation {
    condition     = var.log_retention_days >= 365
    error_message = "log_retention_days must keep the control plane's logs for at least a year."
  }
}

variable "tags" {
  description = "Tags put on every resource (environment, service, owner, cost centre)."
  type        = map(string)
  default     = {}
}
