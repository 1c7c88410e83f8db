module bridged

go 1.26

require github.com/warthog618/sms v0.3.0

require github.com/mattn/go-sqlite3 v1.14.53
