# State in the S3 bucket made by infra/terraform/bootstrap, locked with an S3 lock file. The bucket,
# its region and KMS key come from backend.hcl: terraform init -backend-config=backend.hcl
terraform {
  backend "s3" {
    key          = "lendflow/staging/terraform.tfstate"
    encrypt      = true
    use_lockfile = true
  }
}
