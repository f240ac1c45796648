provider "aws" {
  region              = var.region
  allowed_account_ids = [var.account_id]

  default_tags {
    tags = local.tags
  }
}

# The cluster's add-ons and Temporal are installed through the API server of the cluster this
# configuration makes; the token comes from the AWS CLI of whoever applies.
provider "helm" {
  kubernetes {
    host                   = module.eks.cluster_endpoint
    cluster_ca_certificate = base64decode(module.eks.cluster_certificate_authority_data)

    exec {
      api_version = "client.authentication.k8s.io/v1beta1"
      command     = "aws"
      args        = ["eks", "get-token", "--cluster-name", module.eks.cluster_name, "--region", var.region]
    }
  }
}

# The API token comes from CLOUDFLARE_API_TOKEN (Zone: DNS, WAF, Cache Rules, Zone Settings edit).
provider "cloudflare" {}
