# Shared EFS file system (notebooks' /home/shared, Airflow DAGs and logs, pipeline data). The
# generator owns the StorageClass, the PersistentVolumes and the claims; it reads
# `efs.file_system_id` and `efs.access_point_id` (volumeHandle "<fs>::<fsap>").

resource "aws_efs_file_system" "shared" {
  creation_token   = "${local.name}-shared"
  encrypted        = true
  kms_key_id       = aws_kms_key.data.arn
  performance_mode = "generalPurpose"
  throughput_mode  = "elastic"

  lifecycle_policy {
    transition_to_ia = "AFTER_30_DAYS"
  }

  lifecycle_policy {
    transition_to_primary_storage_class = "AFTER_1_ACCESS"
  }

  tags = { Name = "${local.name}-shared" }
}

# Daily backups by AWS Backup's default EFS plan (35-day retention).
resource "aws_efs_backup_policy" "shared" {
  file_system_id = aws_efs_file_system.shared.id

  backup_policy {
    status = "ENABLED"
  }
}

# Clients may mount and write only through a mount target and only over TLS (the EFS CSI driver
# mounts with efs-utils' `tls` option); root on a client gets no root on the file system.
data "aws_iam_policy_document" "efs" {
  statement {
    sid       = "MountAndWriteThroughMountTargets"
    actions   = ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"]
    resources = [aws_efs_file_system.shared.arn]
    principals {
      type        = "AWS"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "elasticfilesystem:AccessedViaMountTarget"
      values   = ["true"]
    }
  }

  statement {
    sid       = "DenyUnencryptedTransport"
    effect    = "Deny"
    actions   = ["*"]
    resources = [aws_efs_file_system.shared.arn]
    principals {
      type        = "AWS"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_efs_file_system_policy" "shared" {
  file_system_id = aws_efs_file_system.shared.id
  policy         = data.aws_iam_policy_document.efs.json
}

resource "aws_security_group" "efs" {
  name        = "${local.name}-efs"
  description = "EFS mount targets of ${local.name}: NFS from inside the VPC only"
  vpc_id      = aws_vpc.this.id
  tags        = { Name = "${local.name}-efs" }
}

resource "aws_vpc_security_group_ingress_rule" "efs_nfs" {
  security_group_id = aws_security_group.efs.id
  cidr_ipv4         = var.vpc_cidr
  ip_protocol       = "tcp"
  from_port         = 2049
  to_port           = 2049
  description       = "NFS from the VPC (nodes and pods)"
}

resource "aws_efs_mount_target" "shared" {
  for_each = aws_subnet.private

  file_system_id  = aws_efs_file_system.shared.id
  subnet_id       = each.value.id
  security_groups = [aws_security_group.efs.id]
}

# Every client that mounts through this access point acts as uid 1000 / gid 100 (jovyan:users of
# the Jupyter images) whatever its own uid (Airflow runs as 50000, for example), inside /shared.
# 0770 rather than the book's 0777: all access through the access point is already that owner
# and group, so "other" permission bits would only serve a client that bypasses the access point
# and mounts the file system root under another identity -- exactly what should get nothing.
#
# Envs whose notebooks run as the directory's POSIX identities (keycloak.directory.posix) may set
# `efs_shared_posix_user = null`: the access point then enforces no user, every NFS call carries
# the pod's own uid/gid/supplementary gids, and the directory's groups decide who reads what. A new
# /shared is then created 1777 (sticky, like /tmp: everyone creates, only owners delete); project
# directories below it are the directory groups' to create and chmod. Changing posix_user replaces
# the access point: copy its new id into environments/infra/<env>.yaml (efs.access_point_id) and
# synthesize, or the shared claim keeps pointing at the deleted one; an existing /shared keeps its
# mode until `chmod 1777` on it (creation_info applies only when the directory is created).
resource "aws_efs_access_point" "shared" {
  file_system_id = aws_efs_file_system.shared.id

  dynamic "posix_user" {
    for_each = var.efs_shared_posix_user == null ? [] : [var.efs_shared_posix_user]
    content {
      uid = posix_user.value.uid
      gid = posix_user.value.gid
    }
  }

  root_directory {
    path = "/shared"
    creation_info {
      owner_uid   = var.efs_shared_posix_user == null ? 0 : var.efs_shared_posix_user.uid
      owner_gid   = var.efs_shared_posix_user == null ? 0 : var.efs_shared_posix_user.gid
      permissions = var.efs_shared_posix_user == null ? "1777" : "0770"
    }
  }

  tags = { Name = "${local.name}-shared" }
}
