"""Import every public topic module of a package (one module per notebook topic)."""

from importlib import import_module
from pkgutil import iter_modules
from types import ModuleType


def topic_modules(package: str, path) -> list[ModuleType]:
    """The submodules of ``package`` found on ``path`` whose names do not start with ``_``, sorted by name."""
    return [import_module(f"{package}.{info.name}")
            for info in sorted(iter_modules(path), key=lambda i: i.name) if not info.name.startswith("_")]


def reexport(package: str, path, namespace: dict) -> list[str]:
    """Copy every name in the ``__all__`` of each topic module into ``namespace``; return those names."""
    names = []
    for module in topic_modules(package, path):
        for name in getattr(module, "__all__", ()):
            if name in namespace and namespace[name] is not getattr(module, name):
                raise RuntimeError(f"{package}: two topics define {name!r}")
            namespace[name] = getattr(module, name)
            names.append(name)
    return names
