data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  name      = var.cluster_name
  partition = data.aws_partition.current.partition
  account   = data.aws_caller_identity.current.account_id

  # Three AZs, keyed by AZ id so for_each keys are known at plan time.
  azs      = var.availability_zone_ids
  az_index = { for i, az in local.azs : az => i }

  # Kubernetes group of a team's people (the generator's trainer.member_group_prefix).
  team_group_prefix = "ml-team-"

  tags = merge(var.tags, {
    "platform.mlops.io/env"     = var.env
    "platform.mlops.io/cluster" = var.cluster_name
    "managed-by"                = "terraform"
  })

  # Selectors the generator reads (outputs of the same name): Karpenter's EC2NodeClass selects
  # subnets and the node security group by these tags; the AWS Load Balancer Controller picks
  # subnets by the kubernetes.io/role tags.
  private_subnet_tags = {
    "kubernetes.io/role/internal-elb" = "1"
    "karpenter.sh/discovery"          = local.name
  }
  public_subnet_tags = {
    "kubernetes.io/role/elb" = "1"
  }
  node_security_group_tags = {
    "karpenter.sh/discovery" = local.name
  }

  oidc_issuer = replace(aws_eks_cluster.this.identity[0].oidc[0].issuer, "https://", "")
}
