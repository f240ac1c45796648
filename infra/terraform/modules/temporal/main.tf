# The Temporal cluster: Temporal's own Helm chart on EKS, persisting to an RDS PostgreSQL instance of
# its own (Multi-AZ, encrypted, backed up: the postgres module), for both the history store and the
# SQL visibility store. Why self-hosted rather than Temporal Cloud: docs/deploying.md.
#
# The chart takes the store's password as a value and keeps it in a Kubernetes Secret, so the
# password is generated here (it lives in the encrypted Terraform state) rather than rotated by RDS
# behind the chart's back.
resource "random_password" "store" {
  length  = 40
  special = false
}

module "store" {
  source = "../postgres"

  identifier                 = "${var.name}-temporal"
  instance_class             = var.store_instance_class
  database_name              = "temporal"
  master_username            = "temporal"
  master_password            = random_password.store.result
  vpc_id                     = var.vpc_id
  db_subnet_group_name       = var.db_subnet_group_name
  allowed_security_group_ids = var.allowed_security_group_ids
  tags                       = var.tags
}

locals {
  # RDS requires TLS (rds.force_ssl); the server verifies the host against the RDS CA bundle the
  # chart mounts from the rds-ca secret (docs/deploying.md).
  sql_store = {
    driver          = "postgres12"
    host            = module.store.address
    port            = module.store.port
    user            = module.store.master_username
    maxConns        = 20
    maxConnLifetime = "1h"
    tls = {
      enabled                = true
      enableHostVerification = true
      serverName             = module.store.address
      caFile                 = "/etc/temporal/rds-ca/global-bundle.pem"
    }
  }
}

resource "helm_release" "temporal" {
  name             = "temporal"
  namespace        = var.kubernetes_namespace
  create_namespace = true
  repository       = "https://go.temporal.io/helm-charts"
  chart            = "temporal"
  version          = var.chart_version
  timeout          = 900
  wait             = true

  values = [yamlencode({
    server = {
      replicaCount = var.server_replicas
      config = {
        numHistoryShards = var.history_shards
        persistence = {
          defaultStore    = "default"
          visibilityStore = "visibility"
          default         = { driver = "sql", sql = merge(local.sql_store, { database = "temporal" }) }
          visibility      = { driver = "sql", sql = merge(local.sql_store, { database = "temporal_visibility" }) }
        }
      }
      additionalVolumes      = [{ name = "rds-ca", secret = { secretName = "rds-ca" } }]
      additionalVolumeMounts = [{ name = "rds-ca", mountPath = "/etc/temporal/rds-ca", readOnly = true }]
    }
    schema = {
      createDatabase = { enabled = true }
      setup          = { enabled = true }
      update         = { enabled = true }
    }
    # No bundled datastores or monitoring: RDS is the store, the project's Prometheus scrapes.
    cassandra     = { enabled = false }
    mysql         = { enabled = false }
    postgresql    = { enabled = false }
    elasticsearch = { enabled = false }
    prometheus    = { enabled = false }
    grafana       = { enabled = false }
    web           = { enabled = true, replicaCount = 2 }
  })]

  set_sensitive {
    name  = "server.config.persistence.default.sql.password"
    value = random_password.store.result
  }

  set_sensitive {
    name  = "server.config.persistence.visibility.sql.password"
    value = random_password.store.result
  }
}
