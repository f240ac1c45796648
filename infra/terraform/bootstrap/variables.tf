variable "region" {
  description = "AWS region of the state bucket (the region the environments run in), e.g. sa-east-1."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as sa-east-1."
  }
}

variable "account_id" {
  description = "AWS account the state bucket belongs to; applying against another account fails."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}$", var.account_id))
    error_message = "account_id must be the 12-digit account number."
  }
}

variable "bucket_name" {
  description = "Name of the S3 bucket that keeps every environment's Terraform state (globally unique)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name must be a valid S3 bucket name."
  }
}

variable "tags" {
  description = "Tags put on every resource."
  type        = map(string)
  default     = {}
}
