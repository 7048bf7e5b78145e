# EKS with IRSA, envelope-encrypted Secrets and control-plane logs. Not Auto Mode: Karpenter, the
# AWS Load Balancer Controller, external-dns and External Secrets are self-managed Helm releases
# (owned by the generator) running with IRSA roles from iam.tf, so the cluster needs a small
# managed node group for them and the EKS add-ons below.

# ------------------------------------------------------------------------------ control plane
data "aws_iam_policy_document" "cluster_trust" {
  statement {
    actions = ["sts:AssumeRole", "sts:TagSession"]
    principals {
      type        = "Service"
      identifiers = ["eks.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "cluster" {
  name               = "${local.name}-cluster"
  assume_role_policy = data.aws_iam_policy_document.cluster_trust.json
}

resource "aws_iam_role_policy_attachment" "cluster" {
  role       = aws_iam_role.cluster.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/AmazonEKSClusterPolicy"
}

data "aws_iam_policy_document" "cluster_encryption" {
  statement {
    actions   = ["kms:Encrypt", "kms:Decrypt", "kms:ListGrants", "kms:DescribeKey"]
    resources = [aws_kms_key.eks.arn]
  }
}

resource "aws_iam_role_policy" "cluster_encryption" {
  name   = "secrets-envelope-encryption"
  role   = aws_iam_role.cluster.id
  policy = data.aws_iam_policy_document.cluster_encryption.json
}

# Created before the cluster so retention and encryption apply from the first log line.
resource "aws_cloudwatch_log_group" "cluster" {
  name              = "/aws/eks/${local.name}/cluster"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.logs.arn
}

resource "aws_eks_cluster" "this" {
  name     = local.name
  version  = var.kubernetes_version
  role_arn = aws_iam_role.cluster.arn

  enabled_cluster_log_types = var.cluster_log_types
  # vpc-cni, kube-proxy and coredns come as managed add-ons below, not as unmanaged defaults.
  bootstrap_self_managed_addons = false

  access_config {
    authentication_mode                         = "API"
    bootstrap_cluster_creator_admin_permissions = true
  }

  vpc_config {
    # The control plane's ENIs go to their own /28s, never into the pod subnets, so the
    # NetworkPolicies can tell a webhook call from the control plane apart from a pod.
    subnet_ids              = [for s in aws_subnet.control_plane : s.id]
    endpoint_private_access = true
    endpoint_public_access  = length(var.api_public_cidrs) > 0
    public_access_cidrs     = length(var.api_public_cidrs) > 0 ? var.api_public_cidrs : null
  }

  encryption_config {
    resources = ["secrets"]
    provider {
      key_arn = aws_kms_key.eks.arn
    }
  }

  kubernetes_network_config {
    ip_family = "ipv4"
  }

  depends_on = [
    aws_iam_role_policy_attachment.cluster,
    aws_iam_role_policy.cluster_encryption,
    aws_cloudwatch_log_group.cluster,
  ]
}

resource "aws_eks_access_entry" "admins" {
  for_each = toset(var.cluster_admin_principal_arns)

  cluster_name  = aws_eks_cluster.this.name
  principal_arn = each.value
}

resource "aws_eks_access_policy_association" "admins" {
  for_each = aws_eks_access_entry.admins

  cluster_name  = aws_eks_cluster.this.name
  principal_arn = each.value.principal_arn
  policy_arn    = "arn:${local.partition}:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"

  access_scope {
    type = "cluster"
  }
}

# Team members: one IAM role per team (assumed by the team's principals, e.g. its SSO permission
# set) whose access entry maps it to the Kubernetes group ml-team-<team>. That group is what the
# team namespace's RoleBindings name (kuberay `<ns>-ray-users`, kubeflow-trainer `<ns>-training`);
# the EKS view policy, scoped to the team namespace only, adds read access there. No team gets
# anything cluster-wide. tests/test_access.py checks that the realm, the RBAC and this agree.
data "aws_iam_policy_document" "team_trust" {
  for_each = var.teams

  statement {
    actions = ["sts:AssumeRole", "sts:TagSession"]
    principals {
      type        = "AWS"
      identifiers = each.value.member_principal_arns
    }
  }
}

resource "aws_iam_role" "team" {
  for_each = var.teams

  name               = "${local.name}-team-${each.key}"
  description        = "Members of team ${each.key}: Kubernetes group ${local.team_group_prefix}${each.key} in namespace ${each.value.namespace}"
  assume_role_policy = data.aws_iam_policy_document.team_trust[each.key].json
}

resource "aws_eks_access_entry" "team" {
  for_each = var.teams

  cluster_name      = aws_eks_cluster.this.name
  principal_arn     = aws_iam_role.team[each.key].arn
  type              = "STANDARD"
  kubernetes_groups = ["${local.team_group_prefix}${each.key}"]
}

resource "aws_eks_access_policy_association" "team" {
  for_each = var.teams

  cluster_name  = aws_eks_cluster.this.name
  principal_arn = aws_eks_access_entry.team[each.key].principal_arn
  policy_arn    = "arn:${local.partition}:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"

  access_scope {
    type       = "namespace"
    namespaces = [each.value.namespace]
  }
}

# Nodes that Karpenter launches join through this access entry (the managed node group gets its
# own automatically).
resource "aws_eks_access_entry" "karpenter_node" {
  cluster_name  = aws_eks_cluster.this.name
  principal_arn = aws_iam_role.karpenter_node.arn
  type          = "EC2_LINUX"
}

# ------------------------------------------------------------------------------ node security group
# One security group for every node: the system node group and Karpenter's nodes (EC2NodeClass
# selects it by `karpenter.sh/discovery`). Nodes do not also get the EKS-created cluster security
# group: the AWS Load Balancer Controller needs exactly one `kubernetes.io/cluster/<name>`-tagged
# group per ENI to manage target rules.
resource "aws_security_group" "node" {
  name        = "${local.name}-node"
  description = "EKS nodes of ${local.name} (system node group and Karpenter nodes)"
  vpc_id      = aws_vpc.this.id

  tags = merge(local.node_security_group_tags, {
    Name                                  = "${local.name}-node"
    "kubernetes.io/cluster/${local.name}" = "owned"
  })
}

resource "aws_vpc_security_group_ingress_rule" "node_from_node" {
  security_group_id            = aws_security_group.node.id
  referenced_security_group_id = aws_security_group.node.id
  ip_protocol                  = "-1"
  description                  = "Node to node and pod to pod (VPC CNI pods use the node ENIs)"
}

# Control plane to nodes: kubelet, and the ports admission webhooks and aggregated APIs of the
# platform's controllers listen on. A controller serving a webhook on another port needs it here.
locals {
  control_plane_to_node_ports = {
    "443"   = "webhooks on 443"
    "4443"  = "metrics-server style aggregated APIs"
    "6443"  = "aggregated APIs (prometheus-adapter)"
    "8443"  = "admission webhooks (volcano, karpenter)"
    "9443"  = "admission webhooks (load balancer controller, trainer, kuberay, spark, lws)"
    "10250" = "kubelet, and webhooks of external-secrets and prometheus-operator"
    "10251" = "admission webhooks on 10251"
  }
}

resource "aws_vpc_security_group_ingress_rule" "node_from_control_plane" {
  for_each = local.control_plane_to_node_ports

  security_group_id            = aws_security_group.node.id
  referenced_security_group_id = aws_eks_cluster.this.vpc_config[0].cluster_security_group_id
  ip_protocol                  = "tcp"
  from_port                    = tonumber(each.key)
  to_port                      = tonumber(each.key)
  description                  = "Control plane: ${each.value}"
}

resource "aws_vpc_security_group_ingress_rule" "control_plane_from_node" {
  security_group_id            = aws_eks_cluster.this.vpc_config[0].cluster_security_group_id
  referenced_security_group_id = aws_security_group.node.id
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  description                  = "Nodes and pods to the Kubernetes API"
}

resource "aws_vpc_security_group_egress_rule" "node_to_vpc" {
  security_group_id = aws_security_group.node.id
  cidr_ipv4         = var.vpc_cidr
  ip_protocol       = "-1"
  description       = "Anything inside the VPC: nodes, control plane ENIs, EFS, RDS, VPC endpoints"
}

resource "aws_vpc_security_group_egress_rule" "node_https" {
  security_group_id = aws_security_group.node.id
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  description       = "HTTPS through NAT: AWS APIs, ECR, public registries, Hugging Face, package indexes"
}

resource "aws_vpc_security_group_egress_rule" "node_http" {
  security_group_id = aws_security_group.node.id
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = 80
  to_port           = 80
  description       = "HTTP through NAT: OS package mirrors that redirect before TLS"
}

# ------------------------------------------------------------------------------ system node group
data "aws_iam_policy_document" "ec2_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "system_node" {
  name               = "${local.name}-system-node"
  assume_role_policy = data.aws_iam_policy_document.ec2_trust.json
}

# The VPC CNI's permissions are on its own IRSA role (iam.tf), not on the node roles.
resource "aws_iam_role_policy_attachment" "system_node" {
  for_each = toset([
    "AmazonEKSWorkerNodePolicy",
    "AmazonEC2ContainerRegistryPullOnly",
    "AmazonSSMManagedInstanceCore",
  ])

  role       = aws_iam_role.system_node.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/${each.value}"
}

resource "aws_launch_template" "system" {
  name_prefix            = "${local.name}-system-"
  description            = "System node group of ${local.name}"
  update_default_version = true
  vpc_security_group_ids = [aws_security_group.node.id]

  # IMDSv2 only, one hop: pods cannot reach the node's credentials (they use IRSA).
  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  block_device_mappings {
    device_name = "/dev/xvda"
    ebs {
      volume_size           = var.system_node_group.disk_size_gib
      volume_type           = "gp3"
      encrypted             = true
      delete_on_termination = true
    }
  }

  monitoring {
    enabled = true
  }

  tag_specifications {
    resource_type = "instance"
    tags          = merge(local.tags, { Name = "${local.name}-system" })
  }

  tag_specifications {
    resource_type = "volume"
    tags          = merge(local.tags, { Name = "${local.name}-system" })
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_eks_node_group" "system" {
  cluster_name    = aws_eks_cluster.this.name
  node_group_name = "system"
  version         = aws_eks_cluster.this.version
  node_role_arn   = aws_iam_role.system_node.arn
  subnet_ids      = [for s in aws_subnet.private : s.id]

  ami_type       = var.system_node_group.ami_type
  capacity_type  = "ON_DEMAND"
  instance_types = var.system_node_group.instance_types
  labels         = var.system_node_labels

  scaling_config {
    min_size     = var.system_node_group.min_size
    max_size     = var.system_node_group.max_size
    desired_size = var.system_node_group.desired_size
  }

  update_config {
    max_unavailable = 1
  }

  launch_template {
    id      = aws_launch_template.system.id
    version = aws_launch_template.system.latest_version
  }

  lifecycle {
    ignore_changes = [scaling_config[0].desired_size]
  }

  depends_on = [
    aws_iam_role_policy_attachment.system_node,
    aws_eks_addon.before_nodes,
    aws_vpc_security_group_ingress_rule.control_plane_from_node,
    aws_vpc_security_group_egress_rule.node_to_vpc,
    aws_vpc_security_group_egress_rule.node_https,
    aws_route.private_nat,
  ]
}

# ------------------------------------------------------------------------------ add-ons
locals {
  on_system_nodes = { nodeSelector = var.system_node_labels }

  # Needed before a node can become Ready.
  addons_before_nodes = {
    for name, addon in {
      "vpc-cni"                = { role = aws_iam_role.irsa["vpc_cni"].arn, configuration = null, enabled = true }
      "kube-proxy"             = { role = null, configuration = null, enabled = true }
      "eks-pod-identity-agent" = { role = null, configuration = null, enabled = var.enable_pod_identity_agent }
    } : name => addon if addon.enabled
  }

  # Need nodes to schedule on; their controllers stay on the system node group.
  addons_after_nodes = {
    "coredns"            = { role = null, configuration = jsonencode(local.on_system_nodes) }
    "aws-ebs-csi-driver" = { role = aws_iam_role.irsa["ebs_csi_driver"].arn, configuration = jsonencode({ controller = local.on_system_nodes }) }
    "aws-efs-csi-driver" = { role = aws_iam_role.irsa["efs_csi_driver"].arn, configuration = jsonencode({ controller = local.on_system_nodes }) }
  }
}

# The default (recommended) add-on version for the cluster's minor at plan time.
data "aws_eks_addon_version" "this" {
  for_each = merge(local.addons_before_nodes, local.addons_after_nodes)

  addon_name         = each.key
  kubernetes_version = aws_eks_cluster.this.version
}

resource "aws_eks_addon" "before_nodes" {
  for_each = local.addons_before_nodes

  cluster_name                = aws_eks_cluster.this.name
  addon_name                  = each.key
  addon_version               = data.aws_eks_addon_version.this[each.key].version
  service_account_role_arn    = each.value.role
  configuration_values        = each.value.configuration
  resolve_conflicts_on_create = "OVERWRITE"
  resolve_conflicts_on_update = "OVERWRITE"

  depends_on = [aws_iam_role_policy_attachment.irsa_managed]
}

resource "aws_eks_addon" "after_nodes" {
  for_each = local.addons_after_nodes

  cluster_name                = aws_eks_cluster.this.name
  addon_name                  = each.key
  addon_version               = data.aws_eks_addon_version.this[each.key].version
  service_account_role_arn    = each.value.role
  configuration_values        = each.value.configuration
  resolve_conflicts_on_create = "OVERWRITE"
  resolve_conflicts_on_update = "OVERWRITE"

  depends_on = [aws_eks_node_group.system, aws_iam_role_policy_attachment.irsa_managed]
}
