import json
import sys

print(json.dumps({"app": "ok", "python": f"{sys.version_info.major}.{sys.version_info.minor}"}))
