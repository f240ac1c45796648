terraform {
  required_version = ">= 1.10"

  # Exact provider releases: an upgrade is a reviewed change of this file (and of .terraform.lock.hcl,
  # which `terraform init` writes and which is committed with it).
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "5.100.0"
    }
    helm = {
      source  = "hashicorp/helm"
      version = "2.17.0"
    }
    cloudflare = {
      source  = "cloudflare/cloudflare"
      version = "4.52.0"
    }
    random = {
      source  = "hashicorp/random"
      version = "3.7.2"
    }
  }
}
