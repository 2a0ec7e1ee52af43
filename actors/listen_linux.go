package actors

import (
	"net"
	"syscall"
)

// keepAliveListenConfig sets keepalive on the listening socket, which
// Linux copies to every socket it accepts, and keeps Go from setting its
// default on each (KeepAlive -1).
func keepAliveListenConfig(ka net.KeepAliveConfig) *net.ListenConfig {
	return &net.ListenConfig{KeepAlive: -1, Control: func(_, _ string, c syscall.RawConn) error {
		var err error
		ctlErr := c.Control(func(fd uintptr) {
			for _, o := range []struct{ level, opt, value int }{
				{syscall.SOL_SOCKET, syscall.SO_KEEPALIVE, 1},
				{syscall.IPPROTO_TCP, syscall.TCP_KEEPIDLE, int(ka.Idle.Seconds())},
				{syscall.IPPROTO_TCP, syscall.TCP_KEEPINTVL, int(ka.Interval.Seconds())},
				{syscall.IPPROTO_TCP, syscall.TCP_KEEPCNT, ka.Count},
			} {
				if err == nil {
					err = syscall.SetsockoptInt(int(fd), o.level, o.opt, o.value)
				}
			}
		})
		if ctlErr != nil {
			return ctlErr
		}
		return err
	}}
}
