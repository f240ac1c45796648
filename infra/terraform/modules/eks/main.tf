# EKS with a small managed node group for system pods, and Karpenter (its controller IAM role, its
# node role and its interruption queue with the EventBridge rules that feed it) for every other
# node. The AWS Load Balancer Controller (the ALB in front of KrakenD) and KEDA (the worker and the
# pipeline stages scale on Temporal backlog and Kafka lag) are installed with Helm. Karpenter's
# NodePool and EC2NodeClass come with the application chart (infra/helm/lendflow).
data "aws_region" "current" {}

locals {
  system_pod_tolerations = [{
    key      = "CriticalAddonsOnly"
    operator = "Exists"
    effect   = "NoSchedule"
  }]
  system_node_selector = {
    "lendflow.io/node-pool" = "system"
  }
}

module "eks" {
  #checkov:skip=CKV_TF_1:Registry modules are pinned to an exact release; the registry serves no commit hashes
  source  = "terraform-aws-modules/eks/aws"
  version = "20.37.2"

  cluster_name    = var.cluster_name
  cluster_version = var.kubernetes_version

  cluster_endpoint_private_access      = true
  cluster_endpoint_public_access       = length(var.endpoint_public_access_cidrs) > 0
  cluster_endpoint_public_access_cidrs = var.endpoint_public_access_cidrs

  # Terraform's identity administers the cluster so it can install the add-ons below.
  enable_cluster_creator_admin_permissions = true
  authentication_mode                      = "API"

  cluster_enabled_log_types              = ["api", "audit", "authenticator", "controllerManager", "scheduler"]
  cloudwatch_log_group_retention_in_days = var.log_retention_days

  cluster_addons = {
    coredns = {
      configuration_values = jsonencode({
        tolerations  = local.system_pod_tolerations
        nodeSelector = local.system_node_selector
      })
    }
    eks-pod-identity-agent = {}
    kube-proxy             = {}
    vpc-cni                = { before_compute = true }
  }

  vpc_id                   = var.vpc_id
  subnet_ids               = var.private_subnet_ids
  control_plane_subnet_ids = var.control_plane_subnet_ids

  eks_managed_node_groups = {
    system = {
      ami_type       = "AL2023_x86_64_STANDARD"
      instance_types = var.system_node_group.instance_types
      capacity_type  = "ON_DEMAND"
      min_size       = var.system_node_group.min_size
      max_size       = var.system_node_group.max_size
      desired_size   = var.system_node_group.desired_size

      labels = local.system_node_selector
      taints = {
        critical_addons_only = {
          key    = "CriticalAddonsOnly"
          value  = "true"
          effect = "NO_SCHEDULE"
        }
      }

      metadata_options = {
        http_endpoint               = "enabled"
        http_tokens                 = "required"
        http_put_response_hop_limit = 1
      }
    }
  }

  # Karpenter launches its nodes into the node security group it discovers by this tag.
  node_security_group_tags = merge(var.tags, {
    "karpenter.sh/discovery" = var.cluster_name
  })

  tags = var.tags
}

module "karpenter" {
  #checkov:skip=CKV_TF_1:Registry modules are pinned to an exact release; the registry serves no commit hashes
  source  = "terraform-aws-modules/eks/aws//modules/karpenter"
  version = "20.37.2"

  cluster_name = module.eks.cluster_name
  namespace    = "kube-system"

  enable_v1_permissions           = true
  enable_pod_identity             = true
  create_pod_identity_association = true

  # The chart's EC2NodeClass names this role, so it carries no random suffix.
  node_iam_role_use_name_prefix = false
  node_iam_role_name            = "KarpenterNodeRole-${var.cluster_name}"
  node_iam_role_additional_policies = {
    AmazonSSMManagedInstanceCore = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
  }

  tags = var.tags
}

module "load_balancer_controller_irsa" {
  #checkov:skip=CKV_TF_1:Registry modules are pinned to an exact release; the registry serves no commit hashes
  source  = "terraform-aws-modules/iam/aws//modules/iam-role-for-service-accounts-eks"
  version = "5.55.0"

  role_name                              = "${var.cluster_name}-aws-load-balancer-controller"
  attach_load_balancer_controller_policy = true

  oidc_providers = {
    cluster = {
      provider_arn               = module.eks.oidc_provider_arn
      namespace_service_accounts = ["kube-system:aws-load-balancer-controller"]
    }
  }

  tags = var.tags
}

resource "helm_release" "karpenter" {
  name       = "karpenter"
  namespace  = "kube-system"
  repository = "oci://public.ecr.aws/karpenter"
  chart      = "karpenter"
  version    = var.chart_versions.karpenter
  wait       = true

  values = [yamlencode({
    nodeSelector = local.system_node_selector
    settings = {
      clusterName       = module.eks.cluster_name
      clusterEndpoint   = module.eks.cluster_endpoint
      interruptionQueue = module.karpenter.queue_name
    }
    serviceAccount = {
      name = module.karpenter.service_account
    }
  })]
}

resource "helm_release" "aws_load_balancer_controller" {
  name       = "aws-load-balancer-controller"
  namespace  = "kube-system"
  repository = "https://aws.github.io/eks-charts"
  chart      = "aws-load-balancer-controller"
  version    = var.chart_versions.aws_load_balancer_controller
  wait       = true

  values = [yamlencode({
    clusterName  = module.eks.cluster_name
    region       = data.aws_region.current.name
    vpcId        = var.vpc_id
    replicaCount = 2
    tolerations  = local.system_pod_tolerations
    nodeSelector = local.system_node_selector
    serviceAccount = {
      name = "aws-load-balancer-controller"
      annotations = {
        "eks.amazonaws.com/role-arn" = module.load_balancer_controller_irsa.iam_role_arn
      }
    }
  })]

  depends_on = [helm_release.karpenter]
}

resource "helm_release" "keda" {
  name             = "keda"
  namespace        = "keda"
  create_namespace = true
  repository       = "https://kedacore.github.io/charts"
  chart            = "keda"
  version          = var.chart_versions.keda
  wait             = true

  values = [yamlencode({
    tolerations  = local.system_pod_tolerations
    nodeSelector = local.system_node_selector
  })]

  depends_on = [helm_release.karpenter]
}
