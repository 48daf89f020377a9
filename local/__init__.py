"""The embedded default: gtchain's whole stack on one machine (moto provisioned from template.yaml, the real
handlers, an emulated Ground Truth, one emulated clock). Start with `local.cloud.LocalCloud` or `make demo`."""
