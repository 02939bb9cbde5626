module github.com/wikid82/charon

go 1.25
