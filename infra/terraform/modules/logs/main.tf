# Amazon OpenSearch Service for the application's logs (Filebeat -> Logstash -> here; OpenSearch
# Dashboards imports the saved objects under infra/kibana). Three zones, dedicated masters,
# encrypted at rest and between nodes, HTTPS only, inside the VPC, fine-grained access control
# mapped to IAM: Logstash writes with its own IAM role for its service account.
data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  log_groups  = toset(["index_slow", "search_slow", "errors", "audit"])
  oidc_issuer = replace(var.oidc_provider_arn, "/^.*oidc-provider\\//", "")
  logstash    = split(":", var.logstash_service_account)
}

data "aws_iam_policy_document" "key" {
  #checkov:skip=CKV_AWS_109:A key policy's resource "*" is the key itself; the account administers its own keys
  #checkov:skip=CKV_AWS_111:A key policy's resource "*" is the key itself; the account administers its own keys
  #checkov:skip=CKV_AWS_356:A key policy's resource "*" is the key itself, the only resource a key policy can name
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }
  statement {
    sid       = "DomainLogsEncrypt"
    actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["logs.${data.aws_region.current.name}.amazonaws.com"]
    }
  }
}

resource "aws_kms_key" "this" {
  description             = "Encrypts the ${var.domain_name} OpenSearch domain and its CloudWatch logs."
  deletion_window_in_days = 30
  enable_key_rotation     = true
  policy                  = data.aws_iam_policy_document.key.json
  tags                    = var.tags
}

resource "aws_cloudwatch_log_group" "domain" {
  for_each = local.log_groups

  name              = "/aws/opensearch/${var.domain_name}/${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.this.arn
  tags              = var.tags
}

data "aws_iam_policy_document" "publish_logs" {
  statement {
    actions   = ["logs:PutLogEvents", "logs:CreateLogStream"]
    resources = [for group in aws_cloudwatch_log_group.domain : "${group.arn}:*"]
    principals {
      type        = "Service"
      identifiers = ["es.amazonaws.com"]
    }
  }
}

resource "aws_cloudwatch_log_resource_policy" "domain" {
  policy_name     = "${var.domain_name}-publish-logs"
  policy_document = data.aws_iam_policy_document.publish_logs.json
}

resource "aws_security_group" "this" {
  name        = "${var.domain_name}-opensearch"
  description = "OpenSearch ${var.domain_name}: HTTPS from the EKS nodes only"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.domain_name}-opensearch" })
}

resource "aws_vpc_security_group_ingress_rule" "clients" {
  for_each = toset(var.allowed_security_group_ids)

  description                  = "HTTPS from ${each.value}"
  security_group_id            = aws_security_group.this.id
  referenced_security_group_id = each.value
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  tags                         = var.tags
}

data "aws_iam_policy_document" "logstash_assume" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [var.oidc_provider_arn]
    }
    condition {
      test     = "StringEquals"
      variable = "${local.oidc_issuer}:sub"
      values   = ["system:serviceaccount:${local.logstash[0]}:${local.logstash[1]}"]
    }
    condition {
      test     = "StringEquals"
      variable = "${local.oidc_issuer}:aud"
      values   = ["sts.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "logstash" {
  name               = "${var.domain_name}-logstash"
  description        = "Logstash writes the lendflow-* indices of ${var.domain_name}"
  assume_role_policy = data.aws_iam_policy_document.logstash_assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "access" {
  statement {
    sid       = "LogstashWrites"
    actions   = ["es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost", "es:ESHttpPut"]
    resources = ["arn:${data.aws_partition.current.partition}:es:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:domain/${var.domain_name}/*"]
    principals {
      type        = "AWS"
      identifiers = [aws_iam_role.logstash.arn]
    }
  }
  statement {
    sid       = "AdministratorUses"
    actions   = ["es:ESHttp*"]
    resources = ["arn:${data.aws_partition.current.partition}:es:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:domain/${var.domain_name}/*"]
    principals {
      type        = "AWS"
      identifiers = [var.admin_role_arn]
    }
  }
}

resource "aws_opensearch_domain" "this" {
  domain_name    = var.domain_name
  engine_version = var.engine_version

  cluster_config {
    instance_type            = var.data_node_type
    instance_count           = var.data_nodes
    dedicated_master_enabled = true
    dedicated_master_type    = var.master_node_type
    dedicated_master_count   = 3
    zone_awareness_enabled   = true

    zone_awareness_config {
      availability_zone_count = 3
    }
  }

  ebs_options {
    ebs_enabled = true
    volume_type = "gp3"
    volume_size = var.volume_size_gb
  }

  vpc_options {
    subnet_ids         = var.subnet_ids
    security_group_ids = [aws_security_group.this.id]
  }

  encrypt_at_rest {
    enabled    = true
    kms_key_id = aws_kms_key.this.arn
  }

  node_to_node_encryption {
    enabled = true
  }

  domain_endpoint_options {
    enforce_https       = true
    tls_security_policy = "Policy-Min-TLS-1-2-2019-07"
  }

  advanced_security_options {
    enabled                        = true
    anonymous_auth_enabled         = false
    internal_user_database_enabled = false

    master_user_options {
      master_user_arn = var.admin_role_arn
    }
  }

  software_update_options {
    auto_software_update_enabled = true
  }

  log_publishing_options {
    log_type                 = "INDEX_SLOW_LOGS"
    cloudwatch_log_group_arn = aws_cloudwatch_log_group.domain["index_slow"].arn
    enabled                  = true
  }

  log_publishing_options {
    log_type                 = "SEARCH_SLOW_LOGS"
    cloudwatch_log_group_arn = aws_cloudwatch_log_group.domain["search_slow"].arn
    enabled                  = true
  }

  log_publishing_options {
    log_type                 = "ES_APPLICATION_LOGS"
    cloudwatch_log_group_arn = aws_cloudwatch_log_group.domain["errors"].arn
    enabled                  = true
  }

  log_publishing_options {
    log_type                 = "AUDIT_LOGS"
    cloudwatch_log_group_arn = aws_cloudwatch_log_group.domain["audit"].arn
    enabled                  = true
  }

  access_policies = data.aws_iam_policy_document.access.json
  tags            = var.tags

  depends_on = [aws_cloudwatch_log_resource_policy.domain]
}
