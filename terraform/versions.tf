# Base infrastructure of one ML platform environment (one AWS account, one EKS cluster).
# Everything Kubernetes-side (namespaces, StorageClasses, PVs/PVCs, NodePools, Helm releases)
# belongs to the generator and Argo CD: this configuration declares no kubernetes/helm provider
# and creates no Kubernetes object.

terraform {
  # 1.10+: S3 backend state locking without DynamoDB (`use_lockfile`).
  required_version = ">= 1.10.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
  }

  # Partial configuration: bucket, key and region come per env from
  # `terraform init -backend-config=envs/<env>.s3.tfbackend` (see README.md).
  backend "s3" {
    encrypt      = true
    use_lockfile = true
  }
}

provider "aws" {
  region = var.region
  # Refuse to run against the wrong account (credentials of another env).
  allowed_account_ids = [var.account_id]

  default_tags {
    tags = local.tags
  }
}
