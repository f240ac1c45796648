output "address" {
  description = "Host name of the instance (the Multi-AZ primary's DNS name follows a failover)."
  value       = aws_db_instance.this.address
}

output "port" {
  description = "Port of the instance."
  value       = aws_db_instance.this.port
}

output "database_name" {
  description = "Database created with the instance."
  value       = aws_db_instance.this.db_name
}

output "master_username" {
  description = "Master user of the instance."
  value       = aws_db_instance.this.username
}

output "master_user_secret_arn" {
  description = "Secrets Manager secret RDS keeps the master password in (null when the password was given)."
  value       = try(aws_db_instance.this.master_user_secret[0].secret_arn, null)
}

output "security_group_id" {
  description = "Security group of the instance."
  value       = aws_security_group.this.id
}

output "kms_key_arn" {
  description = "KMS key encrypting the instance."
  value       = aws_kms_key.this.arn
}
