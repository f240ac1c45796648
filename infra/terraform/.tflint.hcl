# tflint's core ruleset, from the plugin bundled in the tflint binary: plugin releases (the AWS
# ruleset among them) cannot be downloaded on these machines. Run through infra/tools/tflint.sh:
#   "$(infra/tools/tflint.sh)" --chdir=infra/terraform --config="$PWD/infra/terraform/.tflint.hcl" --recursive
config {
  call_module_type = "local"
}

plugin "terraform" {
  enabled = true
  preset  = "recommended"
}

# Beyond the recommended preset: every variable and output says what it is, and modules keep the
# standard layout (main.tf, variables.tf, outputs.tf).
rule "terraform_documented_variables" {
  enabled = true
}

rule "terraform_documented_outputs" {
  enabled = true
}

rule "terraform_naming_convention" {
  enabled = true
}

rule "terraform_standard_module_structure" {
  enabled = true
}
