"""Wire-protocol adapters: decode requests, call ``broker.core``, encode answers."""
