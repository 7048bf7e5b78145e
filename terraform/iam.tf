# IAM roles for service accounts (IRSA): one role per controller or workload identity, each
# trusting exactly its namespace:serviceaccount through the cluster's OIDC provider. The ARNs of
# the ones the generator annotates ServiceAccounts with are the `roles` output; the EBS CSI
# driver and the VPC CNI are EKS add-ons configured here, so their ARNs stay inside Terraform.

# AWS validates the EKS issuer's certificate against its own trusted CAs, so no thumbprint.
resource "aws_iam_openid_connect_provider" "eks" {
  url            = aws_eks_cluster.this.identity[0].oidc[0].issuer
  client_id_list = ["sts.amazonaws.com"]
  tags           = { Name = "${local.name}-irsa" }
}

locals {
  irsa = {
    karpenter                = { role = "${local.name}-karpenter", subjects = [var.controller_service_accounts.karpenter] }
    load_balancer_controller = { role = "${local.name}-aws-load-balancer-controller", subjects = [var.controller_service_accounts.load_balancer_controller] }
    external_dns             = { role = "${local.name}-external-dns", subjects = [var.controller_service_accounts.external_dns] }
    external_secrets         = { role = "${local.name}-external-secrets", subjects = [var.controller_service_accounts.external_secrets] }
    workloads_s3             = { role = "${local.name}-workloads-s3", subjects = var.workloads_s3_service_accounts }
    spark                    = { role = "${local.name}-spark", subjects = var.spark_service_accounts }
    # EKS add-ons (service accounts created by the add-ons themselves)
    efs_csi_driver = { role = "${local.name}-efs-csi-driver", subjects = ["kube-system:efs-csi-controller-sa"] }
    ebs_csi_driver = { role = "${local.name}-ebs-csi-driver", subjects = ["kube-system:ebs-csi-controller-sa"] }
    vpc_cni        = { role = "${local.name}-vpc-cni", subjects = ["kube-system:aws-node"] }
  }

  # AWS-managed policies for the add-ons; the others get the policies written below.
  irsa_managed_policies = {
    efs_csi_driver = "arn:${local.partition}:iam::aws:policy/service-role/AmazonEFSCSIDriverPolicy"
    ebs_csi_driver = "arn:${local.partition}:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"
    vpc_cni        = "arn:${local.partition}:iam::aws:policy/AmazonEKS_CNI_Policy"
  }

  irsa_policies = {
    karpenter                = data.aws_iam_policy_document.karpenter.json
    load_balancer_controller = data.aws_iam_policy_document.load_balancer_controller.json
    external_dns             = data.aws_iam_policy_document.external_dns.json
    external_secrets         = data.aws_iam_policy_document.external_secrets.json
    workloads_s3             = data.aws_iam_policy_document.workloads_s3.json
    spark                    = data.aws_iam_policy_document.workloads_s3.json # same bucket as the workloads
  }
}

data "aws_iam_policy_document" "irsa_trust" {
  for_each = local.irsa

  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [aws_iam_openid_connect_provider.eks.arn]
    }
    condition {
      test     = "StringEquals"
      variable = "${local.oidc_issuer}:aud"
      values   = ["sts.amazonaws.com"]
    }
    condition {
      test     = "StringLike"
      variable = "${local.oidc_issuer}:sub"
      values   = [for sa in each.value.subjects : "system:serviceaccount:${sa}"]
    }
  }
}

resource "aws_iam_role" "irsa" {
  for_each = local.irsa

  name               = each.value.role
  description        = "IRSA: ${join(", ", each.value.subjects)} in ${local.name}"
  assume_role_policy = data.aws_iam_policy_document.irsa_trust[each.key].json
}

resource "aws_iam_role_policy_attachment" "irsa_managed" {
  for_each = local.irsa_managed_policies

  role       = aws_iam_role.irsa[each.key].name
  policy_arn = each.value
}

resource "aws_iam_policy" "irsa" {
  for_each = local.irsa_policies

  name        = local.irsa[each.key].role
  description = "Permissions of ${local.irsa[each.key].role}"
  policy      = each.value
}

resource "aws_iam_role_policy_attachment" "irsa" {
  for_each = local.irsa_policies

  role       = aws_iam_role.irsa[each.key].name
  policy_arn = aws_iam_policy.irsa[each.key].arn
}

# ------------------------------------------------------------------------------ Karpenter
# Nodes launched by Karpenter: the EC2NodeClass names this role; Karpenter creates and owns the
# instance profile for it (permissions below).
resource "aws_iam_role" "karpenter_node" {
  name               = "${local.name}-karpenter-node"
  description        = "Nodes launched by Karpenter in ${local.name}"
  assume_role_policy = data.aws_iam_policy_document.ec2_trust.json
}

resource "aws_iam_role_policy_attachment" "karpenter_node" {
  for_each = toset([
    "AmazonEKSWorkerNodePolicy",
    "AmazonEC2ContainerRegistryPullOnly",
    "AmazonSSMManagedInstanceCore",
  ])

  role       = aws_iam_role.karpenter_node.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/${each.value}"
}

locals {
  ec2_arn      = "arn:${local.partition}:ec2:${var.region}:${local.account}"
  cluster_tag  = "aws:RequestTag/kubernetes.io/cluster/${local.name}"
  cluster_rtag = "aws:ResourceTag/kubernetes.io/cluster/${local.name}"
  # What Karpenter creates for a NodeClaim: tagged with the cluster and a nodepool on creation.
  karpenter_launch_resources = [
    "${local.ec2_arn}:fleet/*",
    "${local.ec2_arn}:instance/*",
    "${local.ec2_arn}:volume/*",
    "${local.ec2_arn}:network-interface/*",
    "${local.ec2_arn}:launch-template/*",
    "${local.ec2_arn}:spot-instances-request/*",
  ]
}

data "aws_iam_policy_document" "karpenter" {
  statement {
    sid     = "LaunchFromImagesSubnetsAndSecurityGroups"
    actions = ["ec2:RunInstances", "ec2:CreateFleet"]
    resources = [
      "arn:${local.partition}:ec2:${var.region}::image/*",
      "arn:${local.partition}:ec2:${var.region}::snapshot/*",
      "${local.ec2_arn}:security-group/*",
      "${local.ec2_arn}:subnet/*",
      "${local.ec2_arn}:capacity-reservation/*",
    ]
  }

  statement {
    sid       = "LaunchFromOwnLaunchTemplates"
    actions   = ["ec2:RunInstances", "ec2:CreateFleet"]
    resources = ["${local.ec2_arn}:launch-template/*"]
    condition {
      test     = "StringEquals"
      variable = local.cluster_rtag
      values   = ["owned"]
    }
    condition {
      test     = "StringLike"
      variable = "aws:ResourceTag/karpenter.sh/nodepool"
      values   = ["*"]
    }
  }

  statement {
    sid       = "CreateTaggedNodeResources"
    actions   = ["ec2:RunInstances", "ec2:CreateFleet", "ec2:CreateLaunchTemplate"]
    resources = local.karpenter_launch_resources
    condition {
      test     = "StringEquals"
      variable = local.cluster_tag
      values   = ["owned"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/eks:eks-cluster-name"
      values   = [local.name]
    }
    condition {
      test     = "StringLike"
      variable = "aws:RequestTag/karpenter.sh/nodepool"
      values   = ["*"]
    }
  }

  statement {
    sid       = "TagOnCreate"
    actions   = ["ec2:CreateTags"]
    resources = local.karpenter_launch_resources
    condition {
      test     = "StringEquals"
      variable = local.cluster_tag
      values   = ["owned"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/eks:eks-cluster-name"
      values   = [local.name]
    }
    condition {
      test     = "StringEquals"
      variable = "ec2:CreateAction"
      values   = ["RunInstances", "CreateFleet", "CreateLaunchTemplate"]
    }
    condition {
      test     = "StringLike"
      variable = "aws:RequestTag/karpenter.sh/nodepool"
      values   = ["*"]
    }
  }

  statement {
    sid       = "TagOwnInstances"
    actions   = ["ec2:CreateTags"]
    resources = ["${local.ec2_arn}:instance/*"]
    condition {
      test     = "StringEquals"
      variable = local.cluster_rtag
      values   = ["owned"]
    }
    condition {
      test     = "StringLike"
      variable = "aws:ResourceTag/karpenter.sh/nodepool"
      values   = ["*"]
    }
    condition {
      test     = "ForAllValues:StringEquals"
      variable = "aws:TagKeys"
      values   = ["eks:eks-cluster-name", "karpenter.sh/nodeclaim", "Name"]
    }
  }

  statement {
    sid       = "DeleteOwnInstancesAndLaunchTemplates"
    actions   = ["ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"]
    resources = ["${local.ec2_arn}:instance/*", "${local.ec2_arn}:launch-template/*"]
    condition {
      test     = "StringEquals"
      variable = local.cluster_rtag
      values   = ["owned"]
    }
    condition {
      test     = "StringLike"
      variable = "aws:ResourceTag/karpenter.sh/nodepool"
      values   = ["*"]
    }
  }

  # Describe calls have no resource-level permissions; bound to this region.
  statement {
    sid = "DescribeInThisRegion"
    actions = [
      "ec2:DescribeAvailabilityZones",
      "ec2:DescribeCapacityReservations",
      "ec2:DescribeImages",
      "ec2:DescribeInstances",
      "ec2:DescribeInstanceTypeOfferings",
      "ec2:DescribeInstanceTypes",
      "ec2:DescribeLaunchTemplates",
      "ec2:DescribeSecurityGroups",
      "ec2:DescribeSpotPriceHistory",
      "ec2:DescribeSubnets",
    ]
    resources = ["*"]
    condition {
      test     = "StringEquals"
      variable = "aws:RequestedRegion"
      values   = [var.region]
    }
  }

  statement {
    sid       = "ResolveAmiAliases"
    actions   = ["ssm:GetParameter"]
    resources = ["arn:${local.partition}:ssm:${var.region}::parameter/aws/service/*"]
  }

  statement {
    sid       = "InstancePricing"
    actions   = ["pricing:GetProducts"]
    resources = ["*"]
  }

  statement {
    sid       = "InterruptionQueue"
    actions   = ["sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"]
    resources = [aws_sqs_queue.karpenter_interruption.arn]
  }

  statement {
    sid       = "PassNodeRole"
    actions   = ["iam:PassRole"]
    resources = [aws_iam_role.karpenter_node.arn]
    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ec2.amazonaws.com"]
    }
  }

  statement {
    sid       = "CreateInstanceProfiles"
    actions   = ["iam:CreateInstanceProfile"]
    resources = ["arn:${local.partition}:iam::${local.account}:instance-profile/*"]
    condition {
      test     = "StringEquals"
      variable = local.cluster_tag
      values   = ["owned"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/eks:eks-cluster-name"
      values   = [local.name]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/topology.kubernetes.io/region"
      values   = [var.region]
    }
    condition {
      test     = "StringLike"
      variable = "aws:RequestTag/karpenter.k8s.aws/ec2nodeclass"
      values   = ["*"]
    }
  }

  statement {
    sid       = "TagOwnInstanceProfiles"
    actions   = ["iam:TagInstanceProfile"]
    resources = ["arn:${local.partition}:iam::${local.account}:instance-profile/*"]
    condition {
      test     = "StringEquals"
      variable = local.cluster_rtag
      values   = ["owned"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/topology.kubernetes.io/region"
      values   = [var.region]
    }
    condition {
      test     = "StringEquals"
      variable = local.cluster_tag
      values   = ["owned"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/eks:eks-cluster-name"
      values   = [local.name]
    }
    condition {
      test     = "StringLike"
      variable = "aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass"
      values   = ["*"]
    }
  }

  statement {
    sid = "ManageOwnInstanceProfiles"
    actions = [
      "iam:AddRoleToInstanceProfile",
      "iam:RemoveRoleFromInstanceProfile",
      "iam:DeleteInstanceProfile",
    ]
    resources = ["arn:${local.partition}:iam::${local.account}:instance-profile/*"]
    condition {
      test     = "StringEquals"
      variable = local.cluster_rtag
      values   = ["owned"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/topology.kubernetes.io/region"
      values   = [var.region]
    }
    condition {
      test     = "StringLike"
      variable = "aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass"
      values   = ["*"]
    }
  }

  statement {
    sid       = "ReadInstanceProfiles"
    actions   = ["iam:GetInstanceProfile", "iam:ListInstanceProfiles"]
    resources = ["arn:${local.partition}:iam::${local.account}:instance-profile/*"]
  }

  statement {
    sid       = "DiscoverApiEndpoint"
    actions   = ["eks:DescribeCluster"]
    resources = [aws_eks_cluster.this.arn]
  }
}

# ------------------------------------------------------------------------------ AWS Load Balancer Controller
locals {
  elb_arn  = "arn:${local.partition}:elasticloadbalancing:${var.region}:${local.account}"
  lbc_tag  = "aws:RequestTag/elbv2.k8s.aws/cluster"
  lbc_rtag = "aws:ResourceTag/elbv2.k8s.aws/cluster"
  elb_taggable = [
    "${local.elb_arn}:targetgroup/*/*",
    "${local.elb_arn}:loadbalancer/net/*/*",
    "${local.elb_arn}:loadbalancer/app/*/*",
  ]
  elb_listeners = [
    "${local.elb_arn}:listener/net/*/*/*",
    "${local.elb_arn}:listener/app/*/*/*",
    "${local.elb_arn}:listener-rule/net/*/*/*",
    "${local.elb_arn}:listener-rule/app/*/*/*",
  ]
}

data "aws_iam_policy_document" "load_balancer_controller" {
  statement {
    sid       = "ElbServiceLinkedRole"
    actions   = ["iam:CreateServiceLinkedRole"]
    resources = ["arn:${local.partition}:iam::${local.account}:role/aws-service-role/elasticloadbalancing.amazonaws.com/*"]
    condition {
      test     = "StringEquals"
      variable = "iam:AWSServiceName"
      values   = ["elasticloadbalancing.amazonaws.com"]
    }
  }

  # Read-only discovery; these calls have no resource-level permissions.
  statement {
    sid = "Discover"
    actions = [
      "ec2:DescribeAccountAttributes",
      "ec2:DescribeAddresses",
      "ec2:DescribeAvailabilityZones",
      "ec2:DescribeCoipPools",
      "ec2:DescribeInstances",
      "ec2:DescribeInternetGateways",
      "ec2:DescribeIpamPools",
      "ec2:DescribeNetworkInterfaces",
      "ec2:DescribeRouteTables",
      "ec2:DescribeSecurityGroups",
      "ec2:DescribeSubnets",
      "ec2:DescribeTags",
      "ec2:DescribeVpcPeeringConnections",
      "ec2:DescribeVpcs",
      "elasticloadbalancing:DescribeCapacityReservation",
      "elasticloadbalancing:DescribeListenerAttributes",
      "elasticloadbalancing:DescribeListenerCertificates",
      "elasticloadbalancing:DescribeListeners",
      "elasticloadbalancing:DescribeLoadBalancerAttributes",
      "elasticloadbalancing:DescribeLoadBalancers",
      "elasticloadbalancing:DescribeRules",
      "elasticloadbalancing:DescribeSSLPolicies",
      "elasticloadbalancing:DescribeTags",
      "elasticloadbalancing:DescribeTargetGroupAttributes",
      "elasticloadbalancing:DescribeTargetGroups",
      "elasticloadbalancing:DescribeTargetHealth",
      "elasticloadbalancing:DescribeTrustStores",
      "acm:ListCertificates",
      "iam:ListServerCertificates",
      "shield:GetSubscriptionState",
    ]
    resources = ["*"]
  }

  # Reads that do support resource-level permissions, scoped to this account and region.
  statement {
    sid       = "ReadCertificates"
    actions   = ["acm:DescribeCertificate"]
    resources = ["arn:${local.partition}:acm:${var.region}:${local.account}:certificate/*"]
  }

  statement {
    sid       = "ReadServerCertificates"
    actions   = ["iam:GetServerCertificate"]
    resources = ["arn:${local.partition}:iam::${local.account}:server-certificate/*"]
  }

  statement {
    sid       = "ReadCognitoClients"
    actions   = ["cognito-idp:DescribeUserPoolClient"]
    resources = ["arn:${local.partition}:cognito-idp:${var.region}:${local.account}:userpool/*"]
  }

  statement {
    sid     = "ReadWafAndShield"
    actions = ["wafv2:GetWebACL", "wafv2:GetWebACLForResource", "shield:DescribeProtection"]
    resources = [
      "arn:${local.partition}:wafv2:${var.region}:${local.account}:regional/webacl/*/*",
      "${local.elb_arn}:loadbalancer/app/*/*",
      "arn:${local.partition}:shield::${local.account}:protection/*",
    ]
  }

  statement {
    sid       = "ReadVpcNetworking"
    actions   = ["ec2:GetSecurityGroupsForVpc", "ec2:GetCoipPoolUsage"]
    resources = [aws_vpc.this.arn, "${local.ec2_arn}:coip-pool/*"]
  }

  statement {
    sid = "ProtectOwnLoadBalancers"
    actions = [
      "wafv2:AssociateWebACL",
      "wafv2:DisassociateWebACL",
      "shield:CreateProtection",
      "shield:DeleteProtection",
    ]
    resources = [
      "${local.elb_arn}:loadbalancer/app/*/*",
      "arn:${local.partition}:wafv2:${var.region}:${local.account}:regional/webacl/*/*",
      "arn:${local.partition}:shield::${local.account}:protection/*",
    ]
  }

  # Backend rules on node security groups (untagged by the controller) and on its own groups.
  statement {
    sid       = "ManageSecurityGroupRules"
    actions   = ["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"]
    resources = ["${local.ec2_arn}:security-group/*"]
    condition {
      test     = "StringEquals"
      variable = "ec2:Vpc"
      values   = [aws_vpc.this.arn]
    }
  }

  statement {
    sid       = "CreateSecurityGroupsInThisVpc"
    actions   = ["ec2:CreateSecurityGroup"]
    resources = [aws_vpc.this.arn]
  }

  statement {
    sid       = "CreateTaggedSecurityGroups"
    actions   = ["ec2:CreateSecurityGroup"]
    resources = ["${local.ec2_arn}:security-group/*"]
    condition {
      test     = "Null"
      variable = local.lbc_tag
      values   = ["false"]
    }
  }

  statement {
    sid       = "TagSecurityGroupsOnCreate"
    actions   = ["ec2:CreateTags"]
    resources = ["${local.ec2_arn}:security-group/*"]
    condition {
      test     = "StringEquals"
      variable = "ec2:CreateAction"
      values   = ["CreateSecurityGroup"]
    }
    condition {
      test     = "Null"
      variable = local.lbc_tag
      values   = ["false"]
    }
  }

  statement {
    sid       = "RetagOwnSecurityGroups"
    actions   = ["ec2:CreateTags", "ec2:DeleteTags"]
    resources = ["${local.ec2_arn}:security-group/*"]
    condition {
      test     = "Null"
      variable = local.lbc_tag
      values   = ["true"]
    }
    condition {
      test     = "Null"
      variable = local.lbc_rtag
      values   = ["false"]
    }
  }

  statement {
    sid       = "DeleteOwnSecurityGroups"
    actions   = ["ec2:DeleteSecurityGroup"]
    resources = ["${local.ec2_arn}:security-group/*"]
    condition {
      test     = "Null"
      variable = local.lbc_rtag
      values   = ["false"]
    }
  }

  statement {
    sid       = "CreateTaggedLoadBalancers"
    actions   = ["elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:CreateTargetGroup"]
    resources = local.elb_taggable
    condition {
      test     = "Null"
      variable = local.lbc_tag
      values   = ["false"]
    }
  }

  statement {
    sid = "ManageListenersAndRules"
    actions = [
      "elasticloadbalancing:CreateListener",
      "elasticloadbalancing:DeleteListener",
      "elasticloadbalancing:CreateRule",
      "elasticloadbalancing:DeleteRule",
      "elasticloadbalancing:ModifyListener",
      "elasticloadbalancing:ModifyListenerAttributes",
      "elasticloadbalancing:AddListenerCertificates",
      "elasticloadbalancing:RemoveListenerCertificates",
      "elasticloadbalancing:ModifyRule",
      "elasticloadbalancing:SetRulePriorities",
    ]
    resources = concat(local.elb_listeners, [
      "${local.elb_arn}:loadbalancer/net/*/*",
      "${local.elb_arn}:loadbalancer/app/*/*",
    ])
  }

  statement {
    sid       = "TagOwnLoadBalancers"
    actions   = ["elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"]
    resources = local.elb_taggable
    condition {
      test     = "Null"
      variable = local.lbc_tag
      values   = ["true"]
    }
    condition {
      test     = "Null"
      variable = local.lbc_rtag
      values   = ["false"]
    }
  }

  statement {
    sid       = "TagListeners"
    actions   = ["elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"]
    resources = local.elb_listeners
  }

  statement {
    sid       = "TagOnCreate"
    actions   = ["elasticloadbalancing:AddTags"]
    resources = local.elb_taggable
    condition {
      test     = "StringEquals"
      variable = "elasticloadbalancing:CreateAction"
      values   = ["CreateTargetGroup", "CreateLoadBalancer"]
    }
    condition {
      test     = "Null"
      variable = local.lbc_tag
      values   = ["false"]
    }
  }

  statement {
    sid = "ModifyOwnLoadBalancers"
    actions = [
      "elasticloadbalancing:ModifyLoadBalancerAttributes",
      "elasticloadbalancing:SetIpAddressType",
      "elasticloadbalancing:SetSecurityGroups",
      "elasticloadbalancing:SetSubnets",
      "elasticloadbalancing:DeleteLoadBalancer",
      "elasticloadbalancing:ModifyTargetGroup",
      "elasticloadbalancing:ModifyTargetGroupAttributes",
      "elasticloadbalancing:DeleteTargetGroup",
      "elasticloadbalancing:ModifyCapacityReservation",
      "elasticloadbalancing:ModifyIpPools",
    ]
    resources = local.elb_taggable
    condition {
      test     = "Null"
      variable = local.lbc_rtag
      values   = ["false"]
    }
  }

  statement {
    sid       = "RegisterTargets"
    actions   = ["elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"]
    resources = ["${local.elb_arn}:targetgroup/*/*"]
  }

  statement {
    sid       = "AttachWebAcls"
    actions   = ["elasticloadbalancing:SetWebAcl"]
    resources = ["${local.elb_arn}:loadbalancer/app/*/*"]
  }
}

# ------------------------------------------------------------------------------ external-dns
data "aws_iam_policy_document" "external_dns" {
  statement {
    sid       = "ChangeRecordsInTheEnvZoneOnly"
    actions   = ["route53:ChangeResourceRecordSets", "route53:ListResourceRecordSets", "route53:ListTagsForResources"]
    resources = [aws_route53_zone.this.arn]
  }

  statement {
    sid       = "FindZones"
    actions   = ["route53:ListHostedZones"]
    resources = ["*"]
  }
}

# ------------------------------------------------------------------------------ External Secrets Operator
data "aws_iam_policy_document" "external_secrets" {
  statement {
    sid = "ReadSecretsUnderTheEnvPrefix"
    actions = [
      "secretsmanager:GetSecretValue",
      "secretsmanager:DescribeSecret",
      "secretsmanager:ListSecretVersionIds",
      "secretsmanager:GetResourcePolicy",
    ]
    resources = ["arn:${local.partition}:secretsmanager:${var.region}:${local.account}:secret:${local.secrets_prefix}*"]
  }

  statement {
    sid       = "DecryptThroughSecretsManager"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.secrets.arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${var.region}.amazonaws.com"]
    }
  }
}

# ------------------------------------------------------------------------------ workloads S3
data "aws_iam_policy_document" "workloads_s3" {
  statement {
    sid       = "ListTheBucket"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation", "s3:ListBucketMultipartUploads"]
    resources = [aws_s3_bucket.workloads.arn]
  }

  statement {
    sid = "ReadWriteObjects"
    actions = [
      "s3:GetObject",
      "s3:GetObjectVersion",
      "s3:PutObject",
      "s3:DeleteObject",
      "s3:AbortMultipartUpload",
      "s3:ListMultipartUploadParts",
    ]
    resources = ["${aws_s3_bucket.workloads.arn}/*"]
  }

  statement {
    sid       = "UseTheBucketKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.data.arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${var.region}.amazonaws.com"]
    }
  }
}
