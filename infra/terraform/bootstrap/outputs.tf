output "state_bucket" {
  description = "Bucket to name in each environment's backend.hcl."
  value       = aws_s3_bucket.state.bucket
}

output "state_kms_key_arn" {
  description = "KMS key of the state bucket, for backend.hcl's kms_key_id."
  value       = aws_kms_key.state.arn
}
