# The env's public hosted zone and its certificate. Delegation from the parent domain (NS
# records at the registrar or in the parent zone) is a manual step: the certificate validates
# only once the zone answers publicly (README.md, "First apply").

resource "aws_route53_zone" "this" {
  #checkov:skip=CKV2_AWS_38:DNSSEC only protects once the parent zone holds a DS record, and delegation from the parent is managed outside this configuration (README.md "First apply"); a wrong or stale DS takes the whole domain offline. Enable signing together with the parent's DS, not before.
  #checkov:skip=CKV2_AWS_39:Query logs of a public zone can only go to a us-east-1 log group and record public resolvers, not clients, so they add cost but little forensic value; changes to records are audited by CloudTrail and made only by external-dns and this configuration.
  name    = var.domain
  comment = "ML platform ${var.env} (${local.name}); records below the apex are managed by external-dns"
}

locals {
  certificate_domains = [var.domain, "*.${var.domain}"]
}

resource "aws_acm_certificate" "this" {
  domain_name               = local.certificate_domains[0]
  subject_alternative_names = slice(local.certificate_domains, 1, length(local.certificate_domains))
  validation_method         = "DNS"
  key_algorithm             = "RSA_2048"

  options {
    certificate_transparency_logging_preference = "ENABLED"
  }

  lifecycle {
    create_before_destroy = true
  }
}

# <domain> and *.<domain> share one validation record, hence allow_overwrite.
resource "aws_route53_record" "certificate_validation" {
  for_each = {
    for o in aws_acm_certificate.this.domain_validation_options : o.domain_name => {
      name   = o.resource_record_name
      type   = o.resource_record_type
      record = o.resource_record_value
    }
  }

  zone_id         = aws_route53_zone.this.zone_id
  name            = each.value.name
  type            = each.value.type
  ttl             = 300
  records         = [each.value.record]
  allow_overwrite = true
}

resource "aws_acm_certificate_validation" "this" {
  certificate_arn         = aws_acm_certificate.this.arn
  validation_record_fqdns = [for r in aws_route53_record.certificate_validation : r.fqdn]
}
