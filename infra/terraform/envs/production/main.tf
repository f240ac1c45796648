# The environment: the project's modules composed with this environment's sizes (terraform.tfvars).
locals {
  environment = "production"
  name        = "lendflow-${local.environment}"
  tags = {
    Project     = "lendflow"
    Environment = local.environment
    Owner       = var.owner
    ManagedBy   = "terraform"
  }
}

module "network" {
  source = "../../modules/network"

  name               = local.name
  cidr               = var.vpc_cidr
  availability_zones = var.availability_zones
  cluster_name       = local.name
  single_nat_gateway = var.single_nat_gateway
  tags               = local.tags
}

module "eks" {
  source = "../../modules/eks"

  cluster_name                 = local.name
  kubernetes_version           = var.kubernetes_version
  vpc_id                       = module.network.vpc_id
  private_subnet_ids           = module.network.private_subnet_ids
  control_plane_subnet_ids     = module.network.intra_subnet_ids
  endpoint_public_access_cidrs = var.endpoint_public_access_cidrs
  system_node_group            = var.system_node_group
  tags                         = local.tags
}

module "postgres" {
  source = "../../modules/postgres"

  identifier                 = local.name
  instance_class             = var.postgres_instance_class
  database_name              = "lendflow"
  vpc_id                     = module.network.vpc_id
  db_subnet_group_name       = module.network.database_subnet_group_name
  allowed_security_group_ids = [module.eks.node_security_group_id]
  tags                       = local.tags
}

module "kafka" {
  source = "../../modules/kafka"

  cluster_name               = local.name
  broker_instance_type       = var.kafka_broker_instance_type
  brokers_per_zone           = var.kafka_brokers_per_zone
  vpc_id                     = module.network.vpc_id
  subnet_ids                 = module.network.database_subnet_ids
  allowed_security_group_ids = [module.eks.node_security_group_id]
  tags                       = local.tags
}

module "redis" {
  source = "../../modules/redis"

  name                       = local.name
  node_type                  = var.redis_node_type
  vpc_id                     = module.network.vpc_id
  subnet_ids                 = module.network.database_subnet_ids
  allowed_security_group_ids = [module.eks.node_security_group_id]
  tags                       = local.tags
}

module "temporal" {
  source = "../../modules/temporal"

  name                       = local.name
  store_instance_class       = var.temporal_store_instance_class
  history_shards             = var.temporal_history_shards
  vpc_id                     = module.network.vpc_id
  db_subnet_group_name       = module.network.database_subnet_group_name
  allowed_security_group_ids = [module.eks.node_security_group_id]
  tags                       = local.tags
}

module "logs" {
  source = "../../modules/logs"

  domain_name                = "${local.name}-logs"
  data_node_type             = var.opensearch_data_node_type
  master_node_type           = var.opensearch_master_node_type
  vpc_id                     = module.network.vpc_id
  subnet_ids                 = module.network.database_subnet_ids
  allowed_security_group_ids = [module.eks.node_security_group_id]
  oidc_provider_arn          = module.eks.oidc_provider_arn
  admin_role_arn             = var.logs_admin_role_arn
  tags                       = local.tags
}

module "edge" {
  source = "../../modules/edge"

  name               = local.name
  cloudflare_zone_id = var.cloudflare_zone_id
  hostname           = var.public_hostname
  origin_hostname    = var.alb_hostname
  vpc_id             = module.network.vpc_id
  vpc_cidr_block     = module.network.vpc_cidr_block
  tags               = local.tags
}

# The application's pods (service account "lendflow" in namespace "lendflow") reach MSK with IAM.
module "app_irsa" {
  #checkov:skip=CKV_TF_1:Registry modules are pinned to an exact release; the registry serves no commit hashes
  source  = "terraform-aws-modules/iam/aws//modules/iam-role-for-service-accounts-eks"
  version = "5.55.0"

  role_name = "${local.name}-app"
  role_policy_arns = {
    msk = module.kafka.client_policy_arn
  }

  oidc_providers = {
    cluster = {
      provider_arn               = module.eks.oidc_provider_arn
      namespace_service_accounts = ["lendflow:lendflow"]
    }
  }

  tags = local.tags
}
