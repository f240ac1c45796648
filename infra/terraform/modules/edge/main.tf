# Cloudflare in front of the ALB: the public hostname is proxied (orange cloud), so clients see
# Cloudflare's addresses, its WAF (managed and OWASP rulesets) and HTTP DDoS protection, and a coarse
# per-address rate limit. Only static assets are cached: every API answer bypasses the cache.
# On the AWS side: the ACM certificate the ALB serves (validated through the zone, so Cloudflare can
# use Full (strict) TLS to the origin) and a security group that lets only Cloudflare reach the ALB.
locals {
  static_paths = join(" or ", [for prefix in var.static_path_prefixes : "starts_with(http.request.uri.path, \"${prefix}\")"])
  on_host      = "(http.host eq \"${var.hostname}\")"
}

data "cloudflare_ip_ranges" "cloudflare" {}

resource "aws_acm_certificate" "origin" {
  domain_name       = var.hostname
  validation_method = "DNS"
  tags              = var.tags

  lifecycle {
    create_before_destroy = true
  }
}

resource "cloudflare_record" "certificate_validation" {
  for_each = {
    for option in aws_acm_certificate.origin.domain_validation_options : option.domain_name => option
  }

  zone_id = var.cloudflare_zone_id
  name    = each.value.resource_record_name
  type    = each.value.resource_record_type
  content = trimsuffix(each.value.resource_record_value, ".")
  ttl     = 60
  proxied = false
  comment = "ACM validation of the ALB certificate (Terraform)"
}

resource "aws_acm_certificate_validation" "origin" {
  certificate_arn         = aws_acm_certificate.origin.arn
  validation_record_fqdns = [for record in cloudflare_record.certificate_validation : record.hostname]
}

resource "cloudflare_record" "public" {
  count = var.origin_hostname == "" ? 0 : 1

  zone_id = var.cloudflare_zone_id
  name    = var.hostname
  type    = "CNAME"
  content = var.origin_hostname
  proxied = true
  ttl     = 1
  comment = "Lendflow BFF through KrakenD on the ALB (Terraform)"
}

resource "aws_security_group" "alb" {
  #checkov:skip=CKV2_AWS_5:The AWS Load Balancer Controller attaches it to the ALB it makes for the chart's Ingress
  name        = "${var.name}-alb-from-cloudflare"
  description = "ALB of ${var.name}: HTTPS from Cloudflare's addresses only"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-alb-from-cloudflare" })
}

resource "aws_vpc_security_group_ingress_rule" "cloudflare_ipv4" {
  for_each = toset(data.cloudflare_ip_ranges.cloudflare.ipv4_cidr_blocks)

  description       = "HTTPS from Cloudflare ${each.value}"
  security_group_id = aws_security_group.alb.id
  cidr_ipv4         = each.value
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  tags              = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "cloudflare_ipv6" {
  for_each = toset(data.cloudflare_ip_ranges.cloudflare.ipv6_cidr_blocks)

  description       = "HTTPS from Cloudflare ${each.value}"
  security_group_id = aws_security_group.alb.id
  cidr_ipv6         = each.value
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  tags              = var.tags
}

resource "aws_vpc_security_group_egress_rule" "to_pods" {
  description       = "ALB to the gateway pods inside the VPC"
  security_group_id = aws_security_group.alb.id
  cidr_ipv4         = var.vpc_cidr_block
  ip_protocol       = "tcp"
  from_port         = 1024
  to_port           = 65535
  tags              = var.tags
}

resource "cloudflare_zone_settings_override" "tls" {
  zone_id = var.cloudflare_zone_id

  settings {
    ssl                      = "strict"
    always_use_https         = "on"
    min_tls_version          = "1.2"
    tls_1_3                  = "on"
    automatic_https_rewrites = "on"
    security_level           = "medium"
    browser_check            = "on"
  }
}

resource "cloudflare_ruleset" "waf" {
  zone_id     = var.cloudflare_zone_id
  name        = "Lendflow managed WAF"
  description = "Cloudflare Managed Ruleset and OWASP Core Ruleset on every request"
  kind        = "zone"
  phase       = "http_request_firewall_managed"

  rules {
    ref         = "cloudflare_managed"
    description = "Cloudflare Managed Ruleset"
    expression  = "true"
    action      = "execute"
    enabled     = true
    action_parameters {
      id = "efb7b8c949ac4650a09736fc376e9aee"
    }
  }

  rules {
    ref         = "owasp_core"
    description = "Cloudflare OWASP Core Ruleset"
    expression  = "true"
    action      = "execute"
    enabled     = true
    action_parameters {
      id = "4814384a9e5d4991b9815dcfc25d2f1f"
    }
  }
}

resource "cloudflare_ruleset" "ddos" {
  zone_id     = var.cloudflare_zone_id
  name        = "Lendflow HTTP DDoS protection"
  description = "HTTP DDoS Attack Protection blocks what it detects"
  kind        = "zone"
  phase       = "ddos_l7"

  rules {
    ref         = "http_ddos"
    description = "HTTP DDoS Attack Protection managed ruleset"
    expression  = "true"
    action      = "execute"
    enabled     = true
    action_parameters {
      id = "4d21379b4f9f4bb088e0729962c8b3cf"
      overrides {
        action            = "block"
        sensitivity_level = "default"
      }
    }
  }
}

resource "cloudflare_ruleset" "rate_limit" {
  zone_id     = var.cloudflare_zone_id
  name        = "Lendflow per-address rate limit"
  description = "Coarse per-address limit; KrakenD limits per client and per token"
  kind        = "zone"
  phase       = "http_ratelimit"

  rules {
    ref         = "per_address"
    description = "Block an address that sends more than the limit in a minute"
    expression  = local.on_host
    action      = "block"
    enabled     = true
    ratelimit {
      characteristics     = ["cf.colo.id", "ip.src"]
      period              = 60
      requests_per_period = var.requests_per_minute_per_ip
      mitigation_timeout  = 60
    }
  }
}

# Cache rules apply in order and a later match overrides an earlier one: nothing on the host is
# cached, then static asset paths are.
resource "cloudflare_ruleset" "cache" {
  zone_id     = var.cloudflare_zone_id
  name        = "Lendflow caching"
  description = "Cache static assets only; API answers are personal and never cached"
  kind        = "zone"
  phase       = "http_request_cache_settings"

  rules {
    ref         = "bypass_api"
    description = "Never cache API answers"
    expression  = local.on_host
    action      = "set_cache_settings"
    enabled     = true
    action_parameters {
      cache = false
    }
  }

  rules {
    ref         = "cache_static"
    description = "Cache static assets as their Cache-Control says"
    expression  = "${local.on_host} and (${local.static_paths})"
    action      = "set_cache_settings"
    enabled     = true
    action_parameters {
      cache = true
      edge_ttl {
        mode = "respect_origin"
      }
      browser_ttl {
        mode = "respect_origin"
      }
    }
  }
}
