# Production: one NAT gateway per zone, larger instances, two brokers per zone. Replace the zeroed
# identifiers with the production account's, the Cloudflare zone's and the platform team's role.
region             = "sa-east-1"
account_id         = "000000000000"
availability_zones = ["sa-east-1a", "sa-east-1b", "sa-east-1c"]
vpc_cidr           = "10.30.0.0/16"
single_nat_gateway = false
kubernetes_version = "1.33"

system_node_group = {
  instance_types = ["m7i.large"]
  min_size       = 3
  max_size       = 4
  desired_size   = 3
}

postgres_instance_class       = "db.r7g.xlarge"
temporal_store_instance_class = "db.r7g.large"
temporal_history_shards       = 1024
kafka_broker_instance_type    = "kafka.m7g.xlarge"
kafka_brokers_per_zone        = 2
redis_node_type               = "cache.r7g.large"
opensearch_data_node_type     = "r7g.large.search"
opensearch_master_node_type   = "m7g.large.search"

logs_admin_role_arn = "arn:aws:iam::000000000000:role/platform-admin"
cloudflare_zone_id  = "00000000000000000000000000000000"
public_hostname     = "api.lendflow.com.br"
alb_hostname        = ""
