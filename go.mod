module github.com/seedcast/seedcast

go 1.26
