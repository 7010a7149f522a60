module bench

go 1.19

require github.com/sluice-gw/sluice/pdk-go v0.0.0

replace github.com/sluice-gw/sluice/pdk-go => ../../../pdk-go
