//go:build !linux

package actors

import "net"

// keepAliveListenConfig has Go set keepalive on each socket as it accepts
// it (not every system copies the listening socket's options).
func keepAliveListenConfig(ka net.KeepAliveConfig) *net.ListenConfig {
	return &net.ListenConfig{KeepAliveConfig: ka}
}
