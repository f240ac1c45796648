# A VPC over three availability zones: public subnets for the ALB and NAT gateways, private subnets
# for the EKS nodes and pods, database subnets for RDS, ElastiCache, MSK and OpenSearch, and intra
# subnets (no route out) for the EKS control plane's network interfaces.
locals {
  # /20 private subnets (4096 addresses each: pods take VPC addresses with the VPC CNI), /24 for the rest.
  private_subnets  = [for index, _ in var.availability_zones : cidrsubnet(var.cidr, 4, index)]
  public_subnets   = [for index, _ in var.availability_zones : cidrsubnet(var.cidr, 8, index + 48)]
  database_subnets = [for index, _ in var.availability_zones : cidrsubnet(var.cidr, 8, index + 52)]
  intra_subnets    = [for index, _ in var.availability_zones : cidrsubnet(var.cidr, 8, index + 56)]
}

module "vpc" {
  #checkov:skip=CKV_TF_1:Registry modules are pinned to an exact release; the registry serves no commit hashes
  source  = "terraform-aws-modules/vpc/aws"
  version = "5.21.0"

  name = var.name
  cidr = var.cidr
  azs  = var.availability_zones

  private_subnets  = local.private_subnets
  public_subnets   = local.public_subnets
  database_subnets = local.database_subnets
  intra_subnets    = local.intra_subnets

  enable_nat_gateway     = true
  single_nat_gateway     = var.single_nat_gateway
  one_nat_gateway_per_az = !var.single_nat_gateway
  enable_dns_hostnames   = true
  enable_dns_support     = true

  create_database_subnet_group       = true
  create_database_subnet_route_table = true

  # The default security group allows nothing; every service gets a group of its own.
  manage_default_security_group  = true
  default_security_group_ingress = []
  default_security_group_egress  = []

  enable_flow_log                                 = true
  create_flow_log_cloudwatch_log_group            = true
  create_flow_log_cloudwatch_iam_role             = true
  flow_log_max_aggregation_interval               = 60
  flow_log_cloudwatch_log_group_retention_in_days = var.flow_log_retention_days

  public_subnet_tags = {
    "kubernetes.io/role/elb" = "1"
  }

  private_subnet_tags = {
    "kubernetes.io/role/internal-elb" = "1"
    "karpenter.sh/discovery"          = var.cluster_name
  }

  tags = var.tags
}
