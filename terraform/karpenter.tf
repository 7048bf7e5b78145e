# Karpenter's interruption handling: EC2 and AWS Health events go to an SQS queue that the
# controller polls (Helm value settings.interruptionQueue = output karpenter_interruption_queue),
# so it drains a node before a Spot reclaim, a scheduled retirement or a rebalance hits it.

resource "aws_sqs_queue" "karpenter_interruption" {
  name                      = "${local.name}-karpenter"
  message_retention_seconds = 300
  sqs_managed_sse_enabled   = true
}

data "aws_iam_policy_document" "karpenter_interruption" {
  statement {
    sid       = "EventBridgeDelivers"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.karpenter_interruption.arn]
    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com", "sqs.amazonaws.com"]
    }
  }

  statement {
    sid       = "DenyUnencryptedTransport"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [aws_sqs_queue.karpenter_interruption.arn]
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

resource "aws_sqs_queue_policy" "karpenter_interruption" {
  queue_url = aws_sqs_queue.karpenter_interruption.url
  policy    = data.aws_iam_policy_document.karpenter_interruption.json
}

locals {
  karpenter_events = {
    health_event = {
      description = "AWS Health: scheduled EC2 maintenance"
      pattern     = { source = ["aws.health"], "detail-type" = ["AWS Health Event"] }
    }
    spot_interruption = {
      description = "EC2 Spot interruption warning"
      pattern     = { source = ["aws.ec2"], "detail-type" = ["EC2 Spot Instance Interruption Warning"] }
    }
    rebalance = {
      description = "EC2 instance rebalance recommendation"
      pattern     = { source = ["aws.ec2"], "detail-type" = ["EC2 Instance Rebalance Recommendation"] }
    }
    state_change = {
      description = "EC2 instance state change"
      pattern     = { source = ["aws.ec2"], "detail-type" = ["EC2 Instance State-change Notification"] }
    }
  }
}

resource "aws_cloudwatch_event_rule" "karpenter" {
  for_each = local.karpenter_events

  name          = "${local.name}-karpenter-${replace(each.key, "_", "-")}"
  description   = "${each.value.description} -> ${aws_sqs_queue.karpenter_interruption.name}"
  event_pattern = jsonencode(each.value.pattern)
}

resource "aws_cloudwatch_event_target" "karpenter" {
  for_each = local.karpenter_events

  rule      = aws_cloudwatch_event_rule.karpenter[each.key].name
  target_id = "karpenter-interruption-queue"
  arn       = aws_sqs_queue.karpenter_interruption.arn
}
