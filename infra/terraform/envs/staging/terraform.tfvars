# Staging: the same shape as production, smaller. Replace the zeroed identifiers with the staging
# account's, the Cloudflare zone's and the platform team's role.
region             = "sa-east-1"
account_id         = "000000000000"
availability_zones = ["sa-east-1a", "sa-east-1b", "sa-east-1c"]
vpc_cidr           = "10.20.0.0/16"
single_nat_gateway = true
kubernetes_version = "1.33"

system_node_group = {
  instance_types = ["m7i.large"]
  min_size       = 2
  max_size       = 3
  desired_size   = 2
}

postgres_instance_class       = "db.m7g.large"
temporal_store_instance_class = "db.m7g.large"
temporal_history_shards       = 512
kafka_broker_instance_type    = "kafka.m7g.large"
kafka_brokers_per_zone        = 1
redis_node_type               = "cache.m7g.large"
opensearch_data_node_type     = "m7g.large.search"
opensearch_master_node_type   = "m7g.large.search"

logs_admin_role_arn = "arn:aws:iam::000000000000:role/platform-admin"
cloudflare_zone_id  = "00000000000000000000000000000000"
public_hostname     = "api.staging.lendflow.com.br"
alb_hostname        = ""
