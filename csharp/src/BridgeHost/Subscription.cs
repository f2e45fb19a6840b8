using System;

namespace BridgeHost
{
    /// <summary>An event subscription, from <c>Module.Subscribe</c>.</summary>
    public sealed class Subscription : IDisposable
    {
        private readonly Module _module;
        private readonly SubscriptionHandle _handle;

        internal Subscription(Module module, SubscriptionHandle handle, string topic)
        {
            _module = module;
            _handle = handle;
            Topic = topic;
        }

        /// <summary>The topic subscribed to ("*": every topic).</summary>
        public string Topic { get; }

        /// <summary>True until disposed (directly or by disposing its module or host).</summary>
        public bool IsActive => !_handle.IsClosed;

        /// <summary>
        /// Unsubscribe. When this returns the handler is not running and will never be called again
        /// (called from inside the handler itself, it returns at once and no later delivery starts),
        /// and the handler is no longer rooted. Idempotent.
        /// </summary>
        public void Dispose()
        {
            _handle.Dispose();
            _module.Forget(this);
        }
    }
}
