"""The unit's monthly analysis report (``reports``, ``figures``, ``flow``) and the quarterly showcase (``showcase``)."""
