module bridged

go 1.26

require (
	github.com/creack/pty v1.1.24
	github.com/warthog618/sms v0.3.0
	golang.org/x/sys v0.43.0
)

require go.bug.st/serial v1.8.0
