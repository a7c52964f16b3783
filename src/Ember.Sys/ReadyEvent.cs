namespace Ember.Sys;

/// <summary>One readiness report from <see cref="Epoll.Wait"/>: the token given at registration and what happened.</summary>
public readonly record struct ReadyEvent(ulong Token, EpollEvents Events);
