# The one bucket platform workloads read and write (MLflow artifacts, pipeline data, training
# checkpoints), through the workloads-s3 IRSA role (iam.tf).

resource "aws_s3_bucket" "workloads" {
  #checkov:skip=CKV_AWS_18:Server access logs would need a second, unencrypted-by-KMS log bucket per env that itself cannot be logged; object-level access is audited with CloudTrail S3 data events of the account trail, which lives outside this configuration (README.md "Set outside git").
  #checkov:skip=CKV_AWS_144:Contents (MLflow artifacts, checkpoints, pipeline data) are versioned and reproducible from code and source data; a replica needs a second-region provider and doubles storage. Cross-region DR is a per-env decision, not a default.
  bucket = "${local.name}-workloads-${local.account}"
}

# Object events go to EventBridge (free until a rule uses them), e.g. to start a pipeline on new data.
resource "aws_s3_bucket_notification" "workloads" {
  bucket      = aws_s3_bucket.workloads.id
  eventbridge = true
}

resource "aws_s3_bucket_public_access_block" "workloads" {
  bucket                  = aws_s3_bucket.workloads.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "workloads" {
  bucket = aws_s3_bucket.workloads.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_versioning" "workloads" {
  bucket = aws_s3_bucket.workloads.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "workloads" {
  bucket = aws_s3_bucket.workloads.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.data.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "workloads" {
  bucket = aws_s3_bucket.workloads.id

  rule {
    id     = "tidy-up"
    status = "Enabled"
    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }

    noncurrent_version_expiration {
      noncurrent_days = 90
    }
  }

  depends_on = [aws_s3_bucket_versioning.workloads]
}

data "aws_iam_policy_document" "workloads_bucket" {
  statement {
    sid       = "DenyUnencryptedTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.workloads.arn, "${aws_s3_bucket.workloads.arn}/*"]
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

resource "aws_s3_bucket_policy" "workloads" {
  bucket = aws_s3_bucket.workloads.id
  policy = data.aws_iam_policy_document.workloads_bucket.json

  depends_on = [aws_s3_bucket_public_access_block.workloads]
}
