module github.com/sluice-gw/sluice/pdk-go

go 1.19
